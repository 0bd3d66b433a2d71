//! The messy-data corpus: tables of the kinds real users bring (identifier columns, all-missing
//! and constant columns, dates and long text as categories, one row per class, extreme values,
//! 5,000 columns, 200,000 rows, broken headers), generated here, each compared through the
//! release `mltools` binary as a user would run it.
//!
//! ```sh
//! cargo bench -p mltools-node --bench messy              # every table
//! cargo bench -p mltools-node --bench messy -- id_column # the tables whose name contains it
//! ```
//!
//! Prints one row per table: how the run ended (compared, refused with a typed error, or a
//! failure: a panic, a signal, a run over the bound), its time and the process's peak RSS, then
//! the counts. Exits non-zero if any run failed. Never run in CI: it takes minutes.

use std::fmt::Write as _;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bound every run must end within, with a result or a typed refusal.
const BOUND: Duration = Duration::from_secs(300);

/// A small deterministic generator (xorshift64*), so every run sees the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Roughly standard normal (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// One generated table: its name, what it holds, and how it is written.
struct Table {
    name: &'static str,
    about: &'static str,
    write: fn(&mut dyn Write, &mut Rng) -> std::io::Result<()>,
}

fn features(rng: &mut Rng, count: usize) -> Vec<f64> {
    (0..count).map(|_| rng.normal()).collect()
}

fn label(score: f64) -> &'static str {
    if score > 0.0 { "yes" } else { "no" }
}

fn numbers(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.5}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn corpus() -> Vec<Table> {
    vec![
        Table {
            name: "id_column",
            about: "100,000 rows: a distinct customer id per row, 5 numbers, a 4-level category",
            write: |out, rng| {
                writeln!(out, "customer_id,x1,x2,x3,x4,x5,segment,target")?;
                for row in 0..100_000 {
                    let x = features(rng, 5);
                    let segment = ["north", "south", "east", "west"][rng.below(4) as usize];
                    let score = x[0] + 0.5 * x[1] - 0.3 * x[2] + 0.2 * rng.normal();
                    writeln!(
                        out,
                        "C{:07},{},{segment},{}",
                        row * 7 + 3,
                        numbers(&x),
                        label(score)
                    )?;
                }
                Ok(())
            },
        },
        Table {
            name: "all_missing_column",
            about: "2,000 rows; one column empty in every row, one `NA` in every row",
            write: |out, rng| {
                writeln!(out, "x1,empty,x2,na,target")?;
                for _ in 0..2_000 {
                    let x = features(rng, 2);
                    writeln!(out, "{:.4},,{:.4},NA,{}", x[0], x[1], label(x[0] - x[1]))?;
                }
                Ok(())
            },
        },
        Table {
            name: "constant_columns",
            about: "2,000 rows; a constant number and a constant text column",
            write: |out, rng| {
                writeln!(out, "x1,always_7,always_same,x2,target")?;
                for _ in 0..2_000 {
                    let x = features(rng, 2);
                    writeln!(out, "{:.4},7,same,{:.4},{}", x[0], x[1], label(x[1]))?;
                }
                Ok(())
            },
        },
        Table {
            name: "dates_and_long_text",
            about: "5,000 rows; a date per row as a category, a free-text comment of 100–2,000 characters",
            write: |out, rng| {
                writeln!(out, "day,comment,x1,target")?;
                let words = [
                    "late", "fine", "broken", "great", "refund", "again", "never", "ok",
                ];
                for row in 0..5_000u64 {
                    let x = rng.normal();
                    let length = 100 + rng.below(1_900) as usize;
                    let mut comment = String::with_capacity(length + 8);
                    while comment.len() < length {
                        comment.push_str(words[rng.below(words.len() as u64) as usize]);
                        comment.push(' ');
                    }
                    writeln!(
                        out,
                        "2024-{:02}-{:02}T{:02}:{:02},\"{}\",{x:.4},{}",
                        1 + row % 12,
                        1 + row % 28,
                        row % 24,
                        row % 60,
                        comment.trim_end(),
                        label(x)
                    )?;
                }
                Ok(())
            },
        },
        Table {
            name: "one_row_per_class",
            about: "50 rows, 50 classes",
            write: |out, rng| {
                writeln!(out, "x1,x2,target")?;
                for row in 0..50 {
                    let x = features(rng, 2);
                    writeln!(out, "{},class_{row}", numbers(&x))?;
                }
                Ok(())
            },
        },
        Table {
            name: "extreme_values",
            about: "2,000 rows; values from 1e-300 to 1e300, both signs, in the same columns",
            write: |out, rng| {
                writeln!(out, "tiny,huge,mixed,x,target")?;
                for row in 0..2_000 {
                    let x = rng.normal();
                    let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                    let mixed = if row % 97 == 0 { 1e300 * sign } else { x };
                    writeln!(
                        out,
                        "{:e},{:e},{:e},{x:.4},{}",
                        1e-300 * rng.unit(),
                        sign * 1e300 * rng.unit(),
                        mixed,
                        label(x)
                    )?;
                }
                Ok(())
            },
        },
        Table {
            name: "wide_5000_columns",
            about: "300 rows × 5,000 numeric columns",
            write: |out, rng| {
                let header: Vec<String> = (0..5_000).map(|c| format!("f{c}")).collect();
                writeln!(out, "{},target", header.join(","))?;
                for _ in 0..300 {
                    let x = features(rng, 5_000);
                    writeln!(out, "{},{}", numbers(&x), label(x[0] + x[1]))?;
                }
                Ok(())
            },
        },
        Table {
            name: "tall_200k_rows",
            about: "200,000 rows × 10 numbers, a numeric target (regression)",
            write: |out, rng| {
                let header: Vec<String> = (0..10).map(|c| format!("x{c}")).collect();
                writeln!(out, "{},target", header.join(","))?;
                for _ in 0..200_000 {
                    let x = features(rng, 10);
                    let y = 3.0 * x[0] - 2.0 * x[1] + x[2] * x[3] + 0.1 * rng.normal();
                    writeln!(out, "{},{y:.5}", numbers(&x))?;
                }
                Ok(())
            },
        },
        Table {
            name: "high_cardinality_category",
            about: "20,000 rows; a category with 10,000 levels, one with 8",
            write: |out, rng| {
                writeln!(out, "zip,kind,x1,target")?;
                for _ in 0..20_000 {
                    let x = rng.normal();
                    writeln!(
                        out,
                        "Z{},k{},{x:.4},{}",
                        rng.below(10_000),
                        rng.below(8),
                        label(x)
                    )?;
                }
                Ok(())
            },
        },
        Table {
            name: "rare_class",
            about: "5,000 rows; the positive class in 3 rows",
            write: |out, rng| {
                writeln!(out, "x1,x2,target")?;
                for row in 0..5_000 {
                    let x = features(rng, 2);
                    let class = if row % 1_700 == 5 { "fraud" } else { "ok" };
                    writeln!(out, "{},{class}", numbers(&x))?;
                }
                Ok(())
            },
        },
        Table {
            name: "single_class_target",
            about: "500 rows, every target `yes`",
            write: |out, rng| {
                writeln!(out, "x1,x2,target")?;
                for _ in 0..500 {
                    writeln!(out, "{},yes", numbers(&features(rng, 2)))?;
                }
                Ok(())
            },
        },
        Table {
            name: "missing_targets",
            about: "1,000 rows; the target missing in one row in ten",
            write: |out, rng| {
                writeln!(out, "x1,x2,target")?;
                for row in 0..1_000 {
                    let x = features(rng, 2);
                    let target = if row % 10 == 0 { "" } else { label(x[0]) };
                    writeln!(out, "{},{target}", numbers(&x))?;
                }
                Ok(())
            },
        },
        Table {
            name: "target_distinct_per_row",
            about: "2,000 rows; a text target with a distinct value in every row",
            write: |out, rng| {
                writeln!(out, "x1,x2,target")?;
                for row in 0..2_000 {
                    writeln!(out, "{},order-{row}", numbers(&features(rng, 2)))?;
                }
                Ok(())
            },
        },
        Table {
            name: "header_only",
            about: "a header and no rows",
            write: |out, _| writeln!(out, "x1,x2,target"),
        },
        Table {
            name: "empty_file",
            about: "zero bytes",
            write: |_, _| Ok(()),
        },
        Table {
            name: "duplicate_header",
            about: "two columns named `a`",
            write: |out, rng| {
                writeln!(out, "a,a,target")?;
                for _ in 0..200 {
                    let x = features(rng, 2);
                    writeln!(out, "{},{}", numbers(&x), label(x[0]))?;
                }
                Ok(())
            },
        },
        Table {
            name: "ragged_rows",
            about: "a row with fewer fields than the header",
            write: |out, rng| {
                writeln!(out, "x1,x2,x3,target")?;
                for row in 0..300 {
                    let x = features(rng, 3);
                    if row == 150 {
                        writeln!(out, "{:.3},{:.3}", x[0], x[1])?;
                    } else {
                        writeln!(out, "{},{}", numbers(&x), label(x[2]))?;
                    }
                }
                Ok(())
            },
        },
        Table {
            name: "quoted_unicode",
            about: "Unicode names, quoted fields holding commas, quotes and newlines",
            write: |out, rng| {
                writeln!(out, "\"größe, cm\",\"名前\",note,target")?;
                for row in 0..600 {
                    let x = rng.normal();
                    let name = ["Zoë", "Łukasz", "Søren", "Ἀθηνᾶ", "李"][row % 5];
                    writeln!(
                        out,
                        "{x:.3},{name},\"says \"\"hi\"\",\nthen leaves, {row}\",{}",
                        label(x)
                    )?;
                }
                Ok(())
            },
        },
        Table {
            name: "only_the_target",
            about: "one column, the target",
            write: |out, rng| {
                writeln!(out, "target")?;
                for _ in 0..300 {
                    writeln!(out, "{}", label(rng.normal()))?;
                }
                Ok(())
            },
        },
        Table {
            name: "three_rows",
            about: "3 rows",
            write: |out, _| writeln!(out, "x1,x2,target\n1,2,yes\n2,3,no\n3,1,yes"),
        },
        Table {
            name: "inf_and_nan_tokens",
            about: "`inf`, `-inf`, `NaN` and `1e999` among the numbers",
            write: |out, rng| {
                writeln!(out, "x1,x2,target")?;
                for row in 0..1_000 {
                    let x = rng.normal();
                    let odd = ["inf", "-inf", "NaN", "1e999"][row % 4];
                    let second = if row % 13 == 0 {
                        odd.to_owned()
                    } else {
                        format!("{:.4}", rng.normal())
                    };
                    writeln!(out, "{x:.4},{second},{}", label(x))?;
                }
                Ok(())
            },
        },
        Table {
            name: "numbers_with_stray_text",
            about: "a numeric column with a stray `n/a?` and `12,5` among 3,000 numbers",
            write: |out, rng| {
                writeln!(out, "amount,x1,target")?;
                for row in 0..3_000 {
                    let x = rng.normal();
                    let amount = match row % 500 {
                        7 => "n/a?".to_owned(),
                        9 => "\"12,5\"".to_owned(),
                        _ => format!("{:.2}", 100.0 + 10.0 * rng.normal()),
                    };
                    writeln!(out, "{amount},{x:.4},{}", label(x))?;
                }
                Ok(())
            },
        },
        Table {
            name: "semicolons_and_decimal_commas",
            about: "a European export: `;` between fields, `,` as the decimal mark",
            write: |out, rng| {
                writeln!(out, "x1;x2;target")?;
                for _ in 0..1_000 {
                    let x = features(rng, 2);
                    writeln!(
                        out,
                        "{};{};{}",
                        format!("{:.3}", x[0]).replace('.', ","),
                        format!("{:.3}", x[1]).replace('.', ","),
                        label(x[0])
                    )?;
                }
                Ok(())
            },
        },
        Table {
            name: "regression_with_outliers",
            about: "3,000 rows, a numeric target with a few values 1e12 times the rest",
            write: |out, rng| {
                writeln!(out, "x1,x2,x3,target")?;
                for row in 0..3_000 {
                    let x = features(rng, 3);
                    let y = if row % 1_000 == 1 {
                        1e15
                    } else {
                        x[0] * 100.0 + x[1]
                    };
                    writeln!(out, "{},{y}", numbers(&x))?;
                }
                Ok(())
            },
        },
    ]
}

/// How one run ended.
enum Outcome {
    Compared,
    Refused(String),
    Failed(String),
}

struct Run {
    outcome: Outcome,
    elapsed: Duration,
    peak_mb: f64,
}

/// The peak resident set of process `pid` so far (`VmHWM`), megabytes.
fn peak_of(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn compare(binary: &Path, data_dir: &Path, file: &Path) -> Run {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--json")
        .arg("compare")
        .arg(file)
        .args(["--target", "target"])
        .env_remove("MLTOOLS_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mltools binary runs");
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut peak_mb = 0.0_f64;
    let status = loop {
        if let Some(peak) = peak_of(child.id()) {
            peak_mb = peak_mb.max(peak);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        // The peak is sampled while the process lives: std has no wait with a timeout.
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stderr = reader.join().unwrap_or_default();
    let last_line = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .to_owned();
    let outcome = match status {
        None => Outcome::Failed(format!("still running after {} s", BOUND.as_secs())),
        Some(_) if stderr.contains("panicked") => Outcome::Failed(format!("panic: {last_line}")),
        Some(status) if status.success() => Outcome::Compared,
        Some(status) if status.code() == Some(1) => Outcome::Refused(last_line),
        Some(status) => Outcome::Failed(format!("{status}: {last_line}")),
    };
    Run {
        outcome,
        elapsed,
        peak_mb,
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mltools"))
}

fn main() -> std::process::ExitCode {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut table = String::from(
        "| table | what it holds | outcome | time (s) | peak RSS (MB) |\n|---|---|---|---|---|\n",
    );
    let (mut compared, mut refused, mut failed) = (0, 0, 0);
    let mut longest = (Duration::ZERO, "");
    for entry in corpus() {
        if !filter.is_empty() && !filter.iter().any(|f| entry.name.contains(f.as_str())) {
            continue;
        }
        let path = dir.path().join(format!("{}.csv", entry.name));
        {
            let file = std::fs::File::create(&path).expect("create the table");
            let mut out = BufWriter::new(file);
            (entry.write)(&mut out, &mut Rng(0x9e37_79b9_7f4a_7c15)).expect("write the table");
            out.flush().expect("write the table");
        }
        // A fresh data directory per table: each run is a new user's first run.
        let data_dir = dir.path().join(format!("data-{}", entry.name));
        let run = compare(&binary(), &data_dir, &path);
        if run.elapsed > longest.0 {
            longest = (run.elapsed, entry.name);
        }
        let outcome = match &run.outcome {
            Outcome::Compared => {
                compared += 1;
                "compared".to_owned()
            }
            Outcome::Refused(why) => {
                refused += 1;
                format!("refused: {}", why.replace('|', "\\|"))
            }
            Outcome::Failed(why) => {
                failed += 1;
                format!("**FAILED**: {}", why.replace('|', "\\|"))
            }
        };
        // A run that ends before the first sample has no figure.
        let peak = if run.peak_mb > 0.0 {
            format!("{:.0}", run.peak_mb)
        } else {
            "–".to_owned()
        };
        let row = format!(
            "| {} | {} | {} | {:.1} | {peak} |\n",
            entry.name,
            entry.about,
            outcome,
            run.elapsed.as_secs_f64(),
        );
        eprint!("{row}");
        table.push_str(&row);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "\n{compared} compared, {refused} refused, {failed} failed; longest run {:.1} s ({}); bound {} s",
        longest.0.as_secs_f64(),
        longest.1,
        BOUND.as_secs()
    );
    println!("{table}{summary}");
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
