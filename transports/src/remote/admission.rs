//! [`Admission`]: who may hold a connection, shared by the TCP and QUIC listeners.
//!
//! A connection that has not yet said a good hello is *pending*; one that has is *admitted*.
//! They are counted apart: a pending connection takes a slot under `max_pending_handshakes`
//! (and under `max_pending_per_ip` for its address) at accept, and trades it for an admitted
//! slot under `max_connections` only when its hello is welcomed. So silent connections can
//! never take the slots of real clients, and one address cannot hold every pending slot.
//!
//! Failed authentications (a missing or wrong token) are counted per address: after
//! `max_auth_failures` within `auth_backoff_ms`, that address's connections are refused at
//! accept until `auth_backoff_ms` has passed since its last failure. The table is bounded
//! ([`MAX_TRACKED_ADDRESSES`]) and its entries expire.
//!
//! Addresses are counted by IPv4 address, or by IPv6 /64 prefix (what one host or one
//! customer is usually given), so a peer cannot multiply its share by hopping addresses
//! within its own network.
//!
//! Everything here is synchronous and cheap (one mutex, no await), so the accept loop calls
//! it inline.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The most addresses whose failed authentications are remembered at once; past it, expired
/// entries are dropped, then the oldest.
pub const MAX_TRACKED_ADDRESSES: usize = 4096;

/// The numbers an [`Admission`] enforces, from a listener's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Connections that have not finished their hello, at once.
    pub max_pending: usize,
    /// Of those, from one IP address.
    pub max_pending_per_ip: usize,
    /// Admitted connections at once.
    pub max_admitted: usize,
    /// Failed authentications from one address before it is refused for a while.
    pub max_auth_failures: u32,
    /// The window failures are counted in, and how long an address is then refused.
    pub auth_backoff: Duration,
}

/// Why a connection was not let in; its `Display` is the log line's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// Every pending slot is taken.
    #[error("at the limit of {limit} pending handshakes (max_pending_handshakes)")]
    PendingFull {
        /// The limit.
        limit: usize,
    },
    /// The address holds every pending slot it may.
    #[error("{ip} already has {limit} pending handshakes (max_pending_per_ip)")]
    PendingPerIpFull {
        /// The address.
        ip: IpAddr,
        /// The limit.
        limit: usize,
    },
    /// Every admitted slot is taken.
    #[error("at the connection limit of {limit} (max_connections)")]
    AdmittedFull {
        /// The limit.
        limit: usize,
    },
    /// The address failed to authenticate too often.
    #[error(
        "{ip} failed to authenticate {failures} times; refused for {}s more",
        remaining.as_secs().max(1)
    )]
    BackingOff {
        /// The address.
        ip: IpAddr,
        /// Its failures in the window.
        failures: u32,
        /// How long it stays refused.
        remaining: Duration,
    },
}

/// Pending and admitted slots, and failed authentications by address; cheap to clone.
#[derive(Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

struct Inner {
    limits: AdmissionLimits,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: usize,
    admitted: usize,
    pending_by_ip: HashMap<IpAddr, usize>,
    failures: HashMap<IpAddr, Failures>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Admission")
            .field("limits", &self.inner.limits)
            .field("pending", &state.pending)
            .field("admitted", &state.admitted)
            .finish()
    }
}

impl Admission {
    /// An admission with `limits` and nothing held.
    pub fn new(limits: AdmissionLimits) -> Self {
        Admission {
            inner: Arc::new(Inner {
                limits,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the counts consistent; a panic elsewhere cannot
        // leave them half-updated.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A pending slot for a connection from `ip`, or why not.
    ///
    /// # Errors
    /// [`Refused::BackingOff`], [`Refused::PendingFull`] or [`Refused::PendingPerIpFull`].
    pub fn arrive(&self, ip: IpAddr) -> Result<PendingSlot, Refused> {
        let ip = counted_as(ip);
        let limits = self.inner.limits;
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(failures) = state.failures.get(&ip).copied() {
            let since_last = now.saturating_duration_since(failures.last);
            if since_last >= limits.auth_backoff {
                state.failures.remove(&ip);
            } else if failures.count >= limits.max_auth_failures {
                return Err(Refused::BackingOff {
                    ip,
                    failures: failures.count,
                    remaining: limits.auth_backoff - since_last,
                });
            }
        }
        if state.pending >= limits.max_pending {
            return Err(Refused::PendingFull {
                limit: limits.max_pending,
            });
        }
        let from_ip = state.pending_by_ip.entry(ip).or_insert(0);
        if *from_ip >= limits.max_pending_per_ip {
            return Err(Refused::PendingPerIpFull {
                ip,
                limit: limits.max_pending_per_ip,
            });
        }
        *from_ip += 1;
        state.pending += 1;
        Ok(PendingSlot {
            admission: Some(self.clone()),
            ip,
        })
    }

    /// Counts a failed authentication from `ip`.
    pub fn auth_failed(&self, ip: IpAddr) {
        let ip = counted_as(ip);
        let limits = self.inner.limits;
        let now = Instant::now();
        let mut state = self.lock();
        if !state.failures.contains_key(&ip) && state.failures.len() >= MAX_TRACKED_ADDRESSES {
            forget_oldest(&mut state.failures, now, limits.auth_backoff);
        }
        let entry = state.failures.entry(ip).or_insert(Failures {
            count: 0,
            first: now,
            last: now,
        });
        if now.saturating_duration_since(entry.first) >= limits.auth_backoff
            && entry.count < limits.max_auth_failures
        {
            // The window has passed without reaching the limit: count afresh.
            *entry = Failures {
                count: 0,
                first: now,
                last: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        if entry.count == limits.max_auth_failures {
            tracing::warn!(
                %ip,
                failures = entry.count,
                backoff_ms = limits.auth_backoff.as_millis() as u64,
                "refusing an address's connections for a while: too many failed authentications"
            );
        }
    }

    /// Connections pending now.
    pub fn pending(&self) -> usize {
        self.lock().pending
    }

    /// Connections admitted now.
    pub fn admitted(&self) -> usize {
        self.lock().admitted
    }

    /// Addresses whose failures are remembered now.
    pub fn tracked_addresses(&self) -> usize {
        self.lock().failures.len()
    }

    fn release_pending(&self, state: &mut State, ip: IpAddr) {
        state.pending = state.pending.saturating_sub(1);
        if let Some(count) = state.pending_by_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                state.pending_by_ip.remove(&ip);
            }
        }
    }
}

/// The address `ip` is counted under: itself for IPv4 (and IPv4-mapped IPv6), its /64
/// prefix for IPv6.
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
    }
}

/// Drops expired entries; if none had, the one whose last failure is oldest.
fn forget_oldest(failures: &mut HashMap<IpAddr, Failures>, now: Instant, backoff: Duration) {
    let before = failures.len();
    failures.retain(|_, entry| now.saturating_duration_since(entry.last) < backoff);
    if failures.len() < before {
        return;
    }
    if let Some(oldest) = failures
        .iter()
        .min_by_key(|(_, entry)| entry.last)
        .map(|(ip, _)| *ip)
    {
        failures.remove(&oldest);
    }
}

/// A pending connection's slot; given back when dropped.
#[derive(Debug)]
pub struct PendingSlot {
    admission: Option<Admission>,
    ip: IpAddr,
}

impl PendingSlot {
    /// Trades this pending slot for an admitted one.
    ///
    /// # Errors
    /// [`Refused::AdmittedFull`]; the pending slot is given back either way.
    pub fn admit(mut self) -> Result<AdmittedSlot, Refused> {
        let Some(admission) = self.admission.take() else {
            return Err(Refused::PendingFull { limit: 0 });
        };
        let limit = admission.inner.limits.max_admitted;
        let mut state = admission.lock();
        admission.release_pending(&mut state, self.ip);
        if state.admitted >= limit {
            return Err(Refused::AdmittedFull { limit });
        }
        state.admitted += 1;
        drop(state);
        Ok(AdmittedSlot { admission })
    }

    /// The address the slot is counted under (the IPv6 /64 prefix for IPv6).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        if let Some(admission) = self.admission.take() {
            let mut state = admission.lock();
            admission.release_pending(&mut state, self.ip);
        }
    }
}

/// An admitted connection's slot; given back when dropped.
#[derive(Debug)]
pub struct AdmittedSlot {
    admission: Admission,
}

impl Drop for AdmittedSlot {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        state.admitted = state.admitted.saturating_sub(1);
    }
}

/// A connection's place: pending until a hello on it is welcomed, then admitted (for QUIC,
/// the first welcomed stream admits the connection; later streams share its slot).
pub(crate) struct ConnectionSlot {
    state: Mutex<SlotState>,
    admitted: tokio_util::sync::CancellationToken,
}

enum SlotState {
    Pending(PendingSlot),
    Admitted(#[allow(dead_code)] AdmittedSlot),
    Refused(Refused),
}

impl ConnectionSlot {
    pub(crate) fn new(pending: PendingSlot) -> Self {
        ConnectionSlot {
            state: Mutex::new(SlotState::Pending(pending)),
            admitted: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Admits the connection, if it is not already.
    pub(crate) fn admit(&self) -> Result<(), Refused> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let next = match std::mem::replace(
            &mut *state,
            SlotState::Refused(Refused::PendingFull { limit: 0 }),
        ) {
            SlotState::Pending(pending) => match pending.admit() {
                Ok(admitted) => {
                    self.admitted.cancel();
                    SlotState::Admitted(admitted)
                }
                Err(refused) => SlotState::Refused(refused),
            },
            other => other,
        };
        let outcome = match &next {
            SlotState::Admitted(_) => Ok(()),
            SlotState::Refused(refused) => Err(refused.clone()),
            SlotState::Pending(_) => Err(Refused::PendingFull { limit: 0 }),
        };
        *state = next;
        outcome
    }

    /// Cancelled once the connection is admitted.
    #[cfg_attr(not(feature = "quic"), allow(dead_code))]
    pub(crate) fn admitted(&self) -> &tokio_util::sync::CancellationToken {
        &self.admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AdmissionLimits {
        AdmissionLimits {
            max_pending: 3,
            max_pending_per_ip: 2,
            max_admitted: 1,
            max_auth_failures: 2,
            auth_backoff: Duration::from_secs(60),
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn pending_slots_are_capped_in_all_and_per_address() {
        let admission = Admission::new(limits());
        let a1 = admission.arrive(ip(1)).unwrap();
        let _a2 = admission.arrive(ip(1)).unwrap();
        assert_eq!(
            admission.arrive(ip(1)).unwrap_err(),
            Refused::PendingPerIpFull {
                ip: ip(1),
                limit: 2
            }
        );
        let _b1 = admission.arrive(ip(2)).unwrap();
        assert_eq!(
            admission.arrive(ip(3)).unwrap_err(),
            Refused::PendingFull { limit: 3 }
        );
        drop(a1);
        assert_eq!(admission.pending(), 2);
        assert!(admission.arrive(ip(1)).is_ok());
    }

    #[test]
    fn admission_trades_a_pending_slot_for_an_admitted_one() {
        let admission = Admission::new(limits());
        let first = admission.arrive(ip(1)).unwrap().admit().unwrap();
        assert_eq!((admission.pending(), admission.admitted()), (0, 1));
        let error = admission.arrive(ip(2)).unwrap().admit().unwrap_err();
        assert_eq!(error, Refused::AdmittedFull { limit: 1 });
        assert_eq!(
            error.to_string(),
            "at the connection limit of 1 (max_connections)"
        );
        assert_eq!((admission.pending(), admission.admitted()), (0, 1));
        drop(first);
        assert_eq!(admission.admitted(), 0);
    }

    #[test]
    fn failed_authentications_refuse_the_address_for_a_while() {
        let admission = Admission::new(limits());
        admission.auth_failed(ip(9));
        assert!(admission.arrive(ip(9)).is_ok());
        admission.auth_failed(ip(9));
        let error = admission.arrive(ip(9)).unwrap_err();
        assert!(
            matches!(error, Refused::BackingOff { failures: 2, .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("10.0.0.9 failed to authenticate 2 times")
        );
        // Another address is unaffected.
        assert!(admission.arrive(ip(8)).is_ok());
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_prefix() {
        let admission = Admission::new(limits());
        let one: IpAddr = "2001:db8:1:2::7".parse().unwrap();
        let same_net: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_net: IpAddr = "2001:db8:1:3::7".parse().unwrap();
        let _a = admission.arrive(one).unwrap();
        let _b = admission.arrive(same_net).unwrap();
        assert!(matches!(
            admission.arrive(same_net),
            Err(Refused::PendingPerIpFull { .. })
        ));
        assert!(admission.arrive(other_net).is_ok());
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let _c = admission.arrive(ip(1)).unwrap();
        assert!(matches!(
            admission.arrive(mapped),
            Err(Refused::PendingFull { .. }) | Err(Refused::PendingPerIpFull { .. })
        ));
    }

    #[test]
    fn failures_expire_after_the_backoff() {
        let admission = Admission::new(AdmissionLimits {
            auth_backoff: Duration::ZERO,
            ..limits()
        });
        admission.auth_failed(ip(9));
        admission.auth_failed(ip(9));
        assert!(admission.arrive(ip(9)).is_ok());
        assert_eq!(admission.tracked_addresses(), 0);
    }

    #[test]
    fn the_failure_table_is_bounded() {
        let admission = Admission::new(limits());
        for n in 0..(MAX_TRACKED_ADDRESSES as u32 + 10) {
            admission.auth_failed(IpAddr::from(n.to_be_bytes()));
        }
        assert_eq!(admission.tracked_addresses(), MAX_TRACKED_ADDRESSES);
    }
}
