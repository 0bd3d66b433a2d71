//! A comparison's report as one self-contained HTML page, rendered by
//! [`mltools_core::report::html`].

pub use mltools_core::report::html as render;
