//! The embedded presets (README.md, "Presets"): complete configs selected with `--preset NAME`
//! or `preset = "NAME"`, listed by `equip-wheel presets`.

/// The preset used when no configuration is given.
pub const DEFAULT: &str = "calls";

/// (name, one-line description, TOML text) of every preset.
const PRESETS: &[(&str, &str, &str)] = &[
    (
        "calls",
        "count calls per function, zeros included; JSON at exit to $EQUIP_CALLS_FILE or equip-calls-<pid>.json",
        include_str!("presets/calls.toml"),
    ),
    (
        "trace",
        "one line per enter/exit/error with thread id, depth and duration; stderr or $EQUIP_TRACE_FILE",
        include_str!("presets/trace.toml"),
    ),
    (
        "timing",
        "cumulative and per-call time per function; JSON at exit to $EQUIP_TIMING_FILE or equip-timing-<pid>.json",
        include_str!("presets/timing.toml"),
    ),
    (
        "otel",
        "one OpenTelemetry span per call from the global tracer when opentelemetry-api is installed; a no-op otherwise",
        include_str!("presets/otel.toml"),
    ),
    (
        "instructions",
        "one line per bytecode instruction executed in the selected functions; $EQUIP_INSTRUCTIONS_FILE or equip-instructions-<pid>.txt",
        include_str!("presets/instructions.toml"),
    ),
];

/// The TOML text of preset `name`.
pub fn text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|p| p.0 == name).map(|p| p.2)
}

/// The preset names, in listing order.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|p| p.0)
}

/// (name, description) pairs for `equip-wheel presets`.
pub fn descriptions() -> impl Iterator<Item = (&'static str, &'static str)> {
    PRESETS.iter().map(|p| (p.0, p.1))
}
