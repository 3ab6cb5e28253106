//! The calling convention (ABI) between instrumented `.py` and `.pyc` code and the generated
//! hooks module `_equip_hooks_<dist>.py`: which function of that module a site calls, with
//! which arguments in which order ([`HookAbi`], [`HookSet`]), and how an instrumented module
//! binds the hooks module ([`Binding`]). The `.py` rewriter, the `.pyc` injector and the
//! hooks-module generator (`hooks_module`) all sit above this module.
//!
//! Every configured snippet becomes one function of the hooks module (see
//! [`HookKind::function_name`]). A call site passes, positionally, the value of each
//! placeholder in [`HookAbi::params`], in that order: static ones as constants, `{arguments}`
//! as a dict built at entry, `{enter_value}` from the hidden local,
//! `{return_value}`/`{exception}`/`{locals}` from the frame. Nothing else: under
//! `on-hook-error = "warn"` the generated function finds the failing site itself, from the
//! calling frame, only when a hook fails (a site constant per call would cost every call an
//! argument and make instrumented modules about a quarter bigger; docs/benchmarks.md).
//!
//! The function-enter hook returns the snippet's value (`{enter_value}`); the function-exit
//! hook returns the `return_value` it was given, so a site can write
//! `return __equip_exit__(..., value)` without the hook changing the result.
//!
//! Fast paths of `.py` call sites: with `on-hook-error = "raise"`, a snippet that is one call
//! of placeholders and constants to a name the hooks module binds (`enter({qualname})` with
//! `from tracer import enter`) is made by the call site itself ([`HookAbi::direct`]),
//! skipping the generated function's frame; and function hooks are called through hidden
//! globals of the instrumented module ([`HookAbi::callee`]). The generated functions stay in
//! the module, with this ABI, for sites that use neither (the `.pyc` injector).
//!
//! Two more functions serve `.py` sites that have no `try:` handler of their own: under
//! `raise`, `<hook>_reporting` for bodies that cannot raise ([`HookAbi::reporting`]), and
//! `_equip_function_leave` for the `finally` that reports a deferred exit or the error
//! ([`HookAbi::leave`]).
//!
//! An instrumented module finds its hooks through [`Binding`]: it never fails because the
//! hooks module is missing or belongs to another instrumentation (it binds no-op stand-ins
//! instead), and it adds only dunder names to its namespace.

use crate::config::call_shape::SnippetCall;
use crate::config::{Config, HookKind, OnHookError, Placeholder, Snippet};
use crate::syntax::py_str;

/// The global instrumented modules bind the hooks module (or its no-op stand-in) to. A dunder
/// name: namespace walkers skip it, and it is not mangled inside class bodies.
pub const MODULE_ALIAS: &str = "__equip_hooks__";

/// The hooks module's name for a distribution: `_equip_hooks_<normalized name>`.
pub fn module_name(distribution: &str) -> String {
    format!(
        "_equip_hooks_{}",
        crate::wheel::filename::dist_name_identifier(distribution)
    )
}

/// How call sites invoke one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAbi {
    /// The hook point.
    pub kind: HookKind,
    /// The function's name in the hooks module.
    pub function: String,
    /// The placeholder arguments, in order.
    pub params: Vec<Placeholder>,
    /// The snippet's own call, when a site may make it directly instead of calling
    /// [`HookAbi::function`]: placeholders supplied as for `params`. The site must keep what
    /// the generated function does: the enter call's value is `{enter_value}`; the exit
    /// call's result is ignored and the site returns the value it passed as
    /// `{return_value}` (always among the arguments of an exit hook's direct call).
    pub direct: Option<SnippetCall>,
    /// What `.py` call sites call: the direct callee or the generated function, either
    /// through the hooks module (`__equip_hooks__.tracer.start`,
    /// `__equip_hooks__._equip_module_enter`)
    /// or, for function hooks, as a hidden global of the instrumented module bound once by
    /// [`HookAbi::binding`] (a global lookup per call instead of an attribute lookup, which
    /// CPython 3.8-3.10 do not specialize).
    pub callee: String,
    /// When `callee` is such a global, the value the instrumented module binds it to right
    /// after it binds the hooks module ([`Binding`]): `__equip_hooks__._equip_function_enter`,
    /// `__equip_hooks__.enter`.
    pub binding: Option<String>,
    /// A function-exit that reports its own failure ([`HookAbi::reporting`]), or the leave
    /// hook ([`HookAbi::leave`]), with an error hook taking `{lineno}`: sites pass, after
    /// `params`, the error's `{lineno}` (the `def` line) as `error_lineno`; `{lineno}` among
    /// `params`, if there, is the exit's (its `return`'s line).
    pub error_lineno: bool,
}

impl HookAbi {
    /// The ABI of `kind` under `config`, or `None` when that hook is not configured.
    pub fn of(config: &Config, kind: HookKind) -> Option<HookAbi> {
        let snippet = snippet_for(config, kind)?;
        let mut params: Vec<Placeholder> = snippet.params().collect();
        if kind == HookKind::FunctionExit && !params.contains(&Placeholder::ReturnValue) {
            params.push(Placeholder::ReturnValue);
            params.sort();
        }
        let direct = direct_call(config, kind, snippet);
        let target = direct
            .as_ref()
            .map_or_else(|| kind.function_name(), |d| d.callee.clone());
        // Function hooks run on every call: a hidden global, unless the callee is dotted
        // (looked up on every call, so that patching `tracer.start` works).
        let global = match kind {
            HookKind::FunctionEnter => Some("__equip_enter__"),
            HookKind::FunctionExit => Some("__equip_exit__"),
            HookKind::FunctionError => Some("__equip_error__"),
            _ => None,
        }
        .filter(|_| !target.contains('.'));
        Some(HookAbi {
            kind,
            function: kind.function_name(),
            params,
            direct,
            callee: global.map_or_else(|| format!("{MODULE_ALIAS}.{target}"), str::to_string),
            binding: global.map(|_| format!("{MODULE_ALIAS}.{target}")),
            error_lineno: false,
        })
    }

    /// Whether a placeholder is passed.
    pub fn uses(&self, p: Placeholder) -> bool {
        self.params.contains(&p)
    }

    /// The finally-time hook of a function whose exits are deferred until its cleanup has run
    /// (`.py` modules): `_equip_function_leave` takes the placeholders of `exit` and, when
    /// configured, of `error` (not `{exception}`), and calls the error hook with the
    /// exception leaving the calling frame, if one is, else the exit hook. It tells the two
    /// apart from `sys.exc_info()`, which in a `finally` body holds the exception that body
    /// runs for: one that is leaving this frame has a traceback whose newest entry is the
    /// calling frame (an exception the caller is handling does not). Sites reach it through
    /// the hooks module; the error's `{lineno}` (the `def` line) comes last as
    /// `error_lineno` when both hooks take `{lineno}` ([`HookAbi::error_lineno`]).
    pub fn leave(exit: &HookAbi, error: Option<&HookAbi>) -> HookAbi {
        let error_lineno = error.is_some_and(|e| e.uses(Placeholder::Lineno));
        let mut params = exit.params.clone();
        if let Some(error) = error {
            params.extend(error.params.iter().copied().filter(|&p| {
                p != Placeholder::Exception && !(error_lineno && p == Placeholder::Lineno)
            }));
        }
        params.sort();
        params.dedup();
        let function = "_equip_function_leave".to_string();
        HookAbi {
            kind: HookKind::FunctionExit,
            callee: format!("{MODULE_ALIAS}.{function}"),
            function,
            params,
            direct: None,
            binding: None,
            error_lineno,
        }
    }

    /// `hook` (function-enter or function-exit) made to report its own failure to `error`
    /// (function-error), for functions whose body cannot raise by itself (`pass`,
    /// `return self`): under `on-hook-error = "raise"` a failing hook must reach the error
    /// hook as if the function had raised, and these functions need no `try:` (nor a line
    /// for its handler) when the hook reports itself.
    ///
    /// The generated function `<hook function>_reporting` takes the placeholders of both
    /// hooks (the error hook's `{exception}`, and `{enter_value}` for an enter hook, are
    /// supplied inside it), calls the hook's generated function, and on any exception calls
    /// the error hook's and re-raises. Sites always reach it through the hooks module.
    pub fn reporting(hook: &HookAbi, error: &HookAbi) -> HookAbi {
        // An exit's `{lineno}` is its return's line, an error's the `def` line.
        let error_lineno = hook.kind == HookKind::FunctionExit && error.uses(Placeholder::Lineno);
        let supplied = |p: &Placeholder| {
            *p == Placeholder::Exception
                || (hook.kind == HookKind::FunctionEnter && *p == Placeholder::EnterValue)
                || (error_lineno && *p == Placeholder::Lineno)
        };
        let mut params = hook.params.clone();
        params.extend(error.params.iter().copied().filter(|p| !supplied(p)));
        params.sort();
        params.dedup();
        let function = format!("{}_reporting", hook.function);
        HookAbi {
            kind: hook.kind,
            callee: format!("{MODULE_ALIAS}.{function}"),
            function,
            params,
            direct: None,
            binding: None,
            error_lineno,
        }
    }
}

/// The ABIs of the configured module and function hooks, resolved once per module by the
/// `.py` and `.pyc` injectors.
#[derive(Debug, Clone)]
pub struct HookSet {
    /// `module-enter`, if configured.
    pub module_enter: Option<HookAbi>,
    /// `module-exit`, if configured.
    pub module_exit: Option<HookAbi>,
    /// `function-enter`, if configured.
    pub enter: Option<HookAbi>,
    /// `function-exit`, if configured.
    pub exit: Option<HookAbi>,
    /// `function-error`, if configured.
    pub error: Option<HookAbi>,
    /// Under `on-hook-error = "raise"` with an error hook: the enter and exit hooks that
    /// report their own failure ([`HookAbi::reporting`]).
    pub reporting_enter: Option<HookAbi>,
    /// See [`HookSet::reporting_enter`].
    pub reporting_exit: Option<HookAbi>,
    /// With an exit hook: the hook a deferred exit calls from the function's `finally`
    /// ([`HookAbi::leave`]).
    pub leave: Option<HookAbi>,
}

impl HookSet {
    /// The hooks of `config`.
    pub fn of(config: &Config) -> HookSet {
        let enter = HookAbi::of(config, HookKind::FunctionEnter);
        let exit = HookAbi::of(config, HookKind::FunctionExit);
        let error = HookAbi::of(config, HookKind::FunctionError)
            .filter(|_| config.hooks.on_hook_error == OnHookError::Raise);
        let reporting = |hook: &Option<HookAbi>| {
            Option::zip(hook.as_ref(), error.as_ref()).map(|(h, e)| HookAbi::reporting(h, e))
        };
        let any_error = HookAbi::of(config, HookKind::FunctionError);
        HookSet {
            module_enter: HookAbi::of(config, HookKind::ModuleEnter),
            module_exit: HookAbi::of(config, HookKind::ModuleExit),
            reporting_enter: reporting(&enter),
            reporting_exit: reporting(&exit),
            leave: exit.as_ref().map(|x| HookAbi::leave(x, any_error.as_ref())),
            enter,
            exit,
            error: any_error,
        }
    }

    /// This set with the enter and exit hooks replaced by the ones that report their own
    /// failure, when there are such ([`HookSet::reporting_enter`]); `None` otherwise.
    pub fn reporting(&self) -> Option<HookSet> {
        self.reporting_enter
            .as_ref()
            .or(self.reporting_exit.as_ref())?;
        Some(HookSet {
            enter: self.reporting_enter.clone(),
            exit: self.reporting_exit.clone(),
            ..self.clone()
        })
    }

    /// Whether any function hook (enter, exit, error) is configured.
    pub fn any_function(&self) -> bool {
        self.enter.is_some() || self.exit.is_some() || self.error.is_some()
    }

    /// Whether the exit or error hook takes a placeholder matching `p`: such a value must be
    /// kept from entry (`{enter_value}`, `{arguments}`, `{argN}`).
    pub fn after_entry_uses(&self, p: impl Fn(Placeholder) -> bool) -> bool {
        [&self.exit, &self.error]
            .into_iter()
            .flatten()
            .any(|abi| abi.params.iter().any(|&q| p(q)))
    }
}

/// How an instrumented module binds its hooks: one expression, the same for `.py` and `.pyc`
/// modules, that never raises because the hooks module is missing and adds only dunder names
/// ([`MODULE_ALIAS`] and the function hooks' [`HookAbi::callee`] globals) to the module:
///
/// ```text
/// exec(getattr(__import__(getattr(__import__('importlib.util').util.find_spec('<hooks module>'),
///                                 'name', 'sys')),
///              '_equip_bind_<tag>', '<fallback source>'),
///      globals())
/// ```
///
/// `find_spec` returns `None` (without importing anything) when no hooks module can be found,
/// and `sys` stands in for it. A hooks module generated for these call sites has the attribute
/// [`Binding::attribute`], a code object compiled once per process that binds the names from
/// it; any other module (`sys`, or a hooks module of another instrumentation whose calling
/// convention may differ) lacks it, so the module runs [`Binding::fallback`] instead, which
/// binds the same names to no-op stand-ins. No branch: the bytecode is straight-line on every
/// CPython version. When the hooks module is present the cost is a few dictionary lookups
/// per module import and nothing per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The hooks module's name, `_equip_hooks_<dist>`.
    pub module: String,
    /// `_equip_bind_<tag>`: the tag (16 hex digits of a sha256 over the equip-wheel version
    /// and the config's digest) identifies the calling convention of the call sites.
    pub attribute: String,
    /// Python source binding the names from the hooks module (run by the code object the
    /// hooks module keeps under [`Binding::attribute`]).
    pub source: String,
    /// Python source binding the same names to no-op stand-ins: every hook call returns
    /// `None`, except that the generated function-exit returns its `return_value`, as the real
    /// one does.
    pub fallback: String,
}

impl Binding {
    /// The binding of the hooks module named `module` ([`module_name`]) under `config`.
    pub fn of(config: &Config, module: &str) -> Binding {
        let module = module.to_string();
        let digest = crate::wheel::record::sha256_hex(
            format!("{}\n{}", env!("CARGO_PKG_VERSION"), config.sha256).as_bytes(),
        );
        let hooks = HookSet::of(config);
        let mut globals = String::new();
        for abi in [&hooks.enter, &hooks.exit, &hooks.error]
            .into_iter()
            .flatten()
        {
            if let Some(value) = &abi.binding {
                globals.push_str(&format!("{} = {value}\n", abi.callee));
            }
        }
        let source = format!(
            "{MODULE_ALIAS} = __import__({})\n{globals}",
            py_str(&module)
        );
        let mut fallback = format!(
            "class {MODULE_ALIAS}:\n    def __getattr__(self, name):\n        if name.startswith('__'):\n            raise AttributeError(name)\n        return self\n    def __call__(self, *args, **kwargs):\n        return None\n"
        );
        for exit in [&hooks.exit, &hooks.reporting_exit].into_iter().flatten() {
            let at = exit
                .params
                .iter()
                .position(|&p| p == Placeholder::ReturnValue)
                .expect("the exit hook passes the return value");
            fallback.push_str(&format!(
                "    def {}(self, *args, **kwargs):\n        return args[{at}] if args else kwargs[{}]\n",
                exit.function,
                py_str(&Placeholder::ReturnValue.param_name())
            ));
        }
        fallback.push_str(&format!("{MODULE_ALIAS} = {MODULE_ALIAS}()\n{globals}"));
        Binding {
            module,
            attribute: format!("_equip_bind_{}", &digest[..16]),
            source,
            fallback,
        }
    }

    /// The binding as one Python expression statement (the `.py` prologue).
    pub fn expression(&self) -> String {
        format!(
            "exec(getattr(__import__(getattr(__import__('importlib.util').util.find_spec({}), 'name', 'sys')), {}, {}), globals())",
            py_str(&self.module),
            py_str(&self.attribute),
            py_str(&self.fallback)
        )
    }
}

/// The snippet's call when a site may make it directly: only under the `raise` policy (the
/// other policies catch the hook's exception inside the generated function), only for a
/// callee the hooks module surely binds and that no placeholder name shadows inside the
/// generated function, and for the exit hook only when the call passes `{return_value}`
/// (the site evaluates the returned value inside the call, before the hook runs, as the
/// generated function's caller does).
///
/// A plain-name callee of a function hook is bound once per instrumented module (after the
/// hooks module ran its imports and setup, see [`HookAbi::binding`]): rebinding that name in
/// the hooks module later is not seen by these sites (docs/semantics.md).
fn direct_call(config: &Config, kind: HookKind, snippet: &Snippet) -> Option<SnippetCall> {
    let call = snippet.call.as_ref()?;
    let root = call.root();
    let ok = config.hooks.on_hook_error == OnHookError::Raise
        && config.hooks.module_names.contains(root)
        && Placeholder::from_name(root).is_none()
        && (kind != HookKind::FunctionExit || call.passes(Placeholder::ReturnValue));
    ok.then(|| call.clone())
}

pub(crate) fn snippet_for(config: &Config, kind: HookKind) -> Option<&Snippet> {
    match kind {
        HookKind::Probe(i) => config.probes.get(i).map(|p| &p.snippet),
        other => config.hooks.get(other),
    }
}
