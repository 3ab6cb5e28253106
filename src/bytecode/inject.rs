//! Injection of the hook calls into the code objects of a `.pyc`, with the semantics of
//! `docs/semantics.md` (the same as the `.py` injector in `source::inject`).
//!
//! - Module code runs the binding expression of `.py` modules (`Binding`: binds the hooks
//!   module, or a no-op stand-in, as `__equip_hooks__` and the hidden hook globals) after
//!   its docstring and `from __future__` imports, then calls module-enter; module-exit runs
//!   before each of its returns.
//! - Function code (`def`/`async def`) calls function-enter after the prologue
//!   (COPY_FREE_VARS, MAKE_CELL, RETURN_GENERATOR/POP_TOP, RESUME; GEN_START on 3.10);
//!   function-exit before each return, passing the value through the hook; function-error
//!   from a handler covering the body: a block set up at entry on 3.8–3.10, exception table
//!   entries filling every range no other entry covers on 3.11+ (so exceptions that escape
//!   the function's own handlers reach it). The handler re-raises the exception with its
//!   traceback untouched. In generators and coroutines an escaping `GeneratorExit` is
//!   reported by function-exit with `None` instead.
//! - Probes run before the first instruction of the statement starting on their line.
//!
//! Calls use the ABI of [`HookAbi`]: the placeholder values.
//! On 3.8–3.10, a call that needs a value already on the stack (the return value, the
//! exception) passes every argument by keyword, so the value can be the first one pushed;
//! 3.11+ copies it with `COPY`.

use std::collections::HashMap;

use super::code::{CodeEdit, CodeView, Field, Scope, kinds};
use super::disasm::{Body, END, ExcEntry, Id, Instr, LineEntry, Location};
use super::marshal::{Marshal, NodeId, StrKind, Value};
use super::tables::{NB_SUBSCR, OpTable, flags};
use super::{Pyc, PycError, code_label};
use crate::config::{Config, HookKind, Placeholder};
use crate::hook_abi::{Binding, HookAbi, HookSet, MODULE_ALIAS};
use crate::line::LineNumber;
use crate::module::{ModuleOutcome, ModuleTarget};

/// Hidden local holding the enter value.
const ENTER_LOCAL: &str = "_equip_e";
/// Hidden local holding the entry snapshot of the arguments.
const ARGS_LOCAL: &str = "_equip_a";

/// Opcode name, argument (0 for jumps) and line of an instruction, to compare copies of code.
type CodeKey = (&'static str, u32, Option<i32>);

/// Shapes of the cleanup code a `return` can run before its return instruction (3.10+).
#[derive(Default)]
struct CleanupShapes {
    /// The body of each `finally` handler, as compiled for the exception path.
    finally_bodies: Vec<Vec<CodeKey>>,
    /// The index of `None` in `co_consts`.
    none: Option<u32>,
}

/// What a code object is, and its names (shared with the control-flow analysis).
#[derive(Debug, Clone)]
pub(crate) struct CodeInfo {
    /// The code node.
    pub(crate) node: NodeId,
    /// Its kind of scope.
    pub(crate) scope: Scope,
    /// `co_name`.
    pub(crate) name: String,
    /// `co_qualname`, reconstructed on 3.8–3.10; empty for the module body.
    pub(crate) qualname: String,
    /// The name of the class whose body defines it.
    class_name: Option<String>,
}

/// What [`walk`] knows of a code object's parent: its scope kind, qualname and name.
type Parent = (Scope, String, String);

/// The code objects of a module in walk order (module first, then `co_consts` depth first,
/// each object once however many `co_consts` share it), with qualnames reconstructed on
/// 3.8–3.10 (`C.m`, `f.<locals>.g`) and read from `co_qualname` on 3.11+.
pub(crate) fn walk(m: &Marshal) -> Vec<CodeInfo> {
    let mut out = Vec::new();
    let root = m.resolve(m.root);
    let mut stack: Vec<(NodeId, Option<Parent>)> = vec![(root, None)];
    // A code object shared through marshal back-references is one object: walked (and
    // instrumented) once, under the first path that reaches it.
    let mut seen = std::collections::HashSet::new();
    while let Some((node, parent)) = stack.pop() {
        if !seen.insert(node) {
            continue;
        }
        let view = CodeView::new(m, node).expect("code objects only");
        let scope = view.scope(parent.is_none());
        let name = view.name();
        let qualname = match (&parent, view.text(Field::Qualname)) {
            (None, _) => String::new(),
            (_, Some(q)) => q,
            (Some((pscope, pqual, _)), None) => match pscope {
                Scope::Module => name.clone(),
                Scope::Class => format!("{pqual}.{name}"),
                _ => format!("{pqual}.<locals>.{name}"),
            },
        };
        let class_name = match &parent {
            Some((Scope::Class, _, pname)) => Some(pname.clone()),
            _ => None,
        };
        for (_, child) in view.nested().into_iter().rev() {
            stack.push((child, Some((scope, qualname.clone(), name.clone()))));
        }
        out.push(CodeInfo {
            node,
            scope,
            name,
            qualname,
            class_name,
        });
    }
    out
}

/// Instruments every selected code object of `pyc` (see the module documentation).
pub fn instrument(
    pyc: &mut Pyc,
    target: ModuleTarget<'_>,
    config: &Config,
) -> Result<ModuleOutcome, PycError> {
    let infos = walk(&pyc.marshal);
    let hooks = HookSet::of(config);
    let mut outcome = ModuleOutcome::default();
    for info in &infos {
        match info.scope {
            Scope::Lambda => outcome.not_instrumented.lambdas += 1,
            Scope::Comprehension => outcome.not_instrumented.comprehensions += 1,
            Scope::Class => outcome.not_instrumented.class_bodies += 1,
            Scope::Annotate => outcome.not_instrumented.annotate_functions += 1,
            _ => {}
        }
    }
    let selected: Vec<&CodeInfo> = if hooks.any_function() {
        infos
            .iter()
            .filter(|i| i.scope == Scope::Function && config.selection.function(&i.qualname))
            .collect()
    } else {
        Vec::new()
    };
    let probes: Vec<(usize, LineNumber)> = config
        .probes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.module == target.module)
        .map(|(i, p)| (i, p.line))
        .collect();
    // Patches are installed when the hooks module is first imported: every module binds it.
    let module_hooks =
        hooks.module_enter.is_some() || hooks.module_exit.is_some() || !config.patches.is_empty();
    if selected.is_empty() && !module_hooks && probes.is_empty() {
        return Ok(outcome);
    }
    // Probes: each goes into the outermost statement-bearing code object where its line
    // starts a statement.
    let mut probe_sites: HashMap<NodeId, Vec<(usize, LineNumber)>> = HashMap::new();
    if !probes.is_empty() {
        let mut starts_by_code = Vec::new();
        for info in &infos {
            if matches!(
                info.scope,
                Scope::Lambda | Scope::Comprehension | Scope::Annotate
            ) {
                continue;
            }
            let body = pyc.disassemble(info.node)?;
            starts_by_code.push((info.node, line_starts(&body)));
        }
        for &(index, line) in &probes {
            let found = starts_by_code
                .iter()
                .find(|(_, starts)| starts.iter().any(|&(_, l)| l == line));
            match found {
                Some((node, _)) => probe_sites.entry(*node).or_default().push((index, line)),
                None => {
                    let mut lines: Vec<LineNumber> = starts_by_code
                        .iter()
                        .flat_map(|(_, s)| s.iter().map(|&(_, l)| l))
                        .collect();
                    lines.sort_unstable();
                    lines.dedup();
                    let below = lines.iter().rev().find(|&&l| l < line);
                    let above = lines.iter().find(|&&l| l > line);
                    let near: Vec<String> = below
                        .into_iter()
                        .chain(above)
                        .map(|l| l.to_string())
                        .collect();
                    return Err(PycError::Probe(format!(
                        "probes[{index}]: no statement starts on line {line} of {}; nearest lines with one: {}",
                        target.module,
                        if near.is_empty() {
                            "none".to_string()
                        } else {
                            near.join(", ")
                        }
                    )));
                }
            }
        }
    }
    for info in &infos {
        if info.scope == Scope::Module {
            continue; // last: it binds the hooks module the others use
        }
        let is_selected = selected.iter().any(|s| s.node == info.node);
        let sites = probe_sites.remove(&info.node).unwrap_or_default();
        if !is_selected && sites.is_empty() {
            continue;
        }
        let mut inj = Injector::new(pyc, info, target, &hooks)?;
        inj.probes(&sites, config)?;
        if is_selected {
            inj.function()?;
            outcome.functions.push(info.qualname.clone());
        }
        outcome.probes += sites.len();
        inj.finish()?;
    }
    let module = &infos[0];
    let sites = probe_sites.remove(&module.node).unwrap_or_default();
    let mut inj = Injector::new(pyc, module, target, &hooks)?;
    inj.probes(&sites, config)?;
    outcome.probes += sites.len();
    inj.module(&Binding::of(config, target.hooks_module))?;
    inj.finish()?;
    outcome.new_bytes = Some(pyc.write());
    Ok(outcome)
}

/// `(instruction id, line)` of every instruction that starts a line: its line differs from
/// the previous instruction's and is a line (1 or more). Prologue instructions are skipped.
fn line_starts(body: &Body) -> Vec<(Id, LineNumber)> {
    let locs = body.locations();
    let skip = prologue_end(body);
    let mut out = Vec::new();
    let mut prev = None;
    for (i, ins) in body.instrs.iter().enumerate() {
        let line = locs[i].line;
        if i >= skip
            && line != prev
            && let Some(l) = line.and_then(LineNumber::from_code)
        {
            out.push((ins.id, l));
        }
        prev = line;
    }
    out
}

/// Index of the first instruction after the prologue: COPY_FREE_VARS, MAKE_CELL,
/// RETURN_GENERATOR + POP_TOP and the first RESUME (3.11+), GEN_START (3.10).
fn prologue_end(body: &Body) -> usize {
    let t = body.table;
    let name = |i: usize| body.instrs.get(i).map(|ins| t.info(ins.op).name);
    let mut i = 0;
    if t.minor == 10 {
        return usize::from(name(0) == Some("GEN_START"));
    }
    if t.minor < 10 {
        return 0;
    }
    loop {
        match name(i) {
            Some("COPY_FREE_VARS" | "MAKE_CELL") => i += 1,
            Some("RETURN_GENERATOR") => {
                i += 1;
                if name(i) == Some("POP_TOP") {
                    i += 1;
                }
            }
            Some("RESUME") => return i + 1,
            _ => return i,
        }
    }
}

/// The index after the statements 3.14+ compilers put before a module's docstring when it
/// has annotations (PEP 649/749), from `i` on: `__annotate__ = <annotation function>`,
/// `__conditional_annotations__ = set()`, `SETUP_ANNOTATIONS`.
fn skip_annotation_header<'n>(
    body: &Body,
    mut i: usize,
    name_arg: &dyn Fn(usize) -> Option<&'n str>,
) -> usize {
    let name = |i: usize| body.instrs.get(i).map(|x| body.table.info(x.op).name);
    loop {
        if name(i) == Some("LOAD_CONST")
            && name(i + 1) == Some("MAKE_FUNCTION")
            && name(i + 2) == Some("STORE_NAME")
            && name_arg(i + 2) == Some("__annotate__")
        {
            i += 3;
        } else if name(i) == Some("BUILD_SET")
            && name(i + 1) == Some("STORE_NAME")
            && name_arg(i + 1) == Some("__conditional_annotations__")
        {
            i += 2;
        } else if name(i) == Some("SETUP_ANNOTATIONS") {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Where a call argument comes from.
#[derive(Debug, Clone)]
enum Src {
    /// A constant (index in `co_consts`).
    Const(u32),
    /// A parameter or local: fast slot or cell.
    Local { index: u32, cell: bool },
    /// The value on top of the stack when the call sequence starts.
    Top,
    /// `_equip_a[name]`.
    Snapshot(u32, u32),
    /// A dict of the parameters.
    Arguments,
    /// `_equip_h._equip_locals()`.
    Locals,
}

/// The static values of one hook site.
struct Site<'a> {
    /// `{lineno}`: a code-object line as the code object holds it (a hostile `.pyc` may
    /// give 0 or a negative line; the hook sees that value).
    lineno: i32,
    info: &'a CodeInfo,
    in_function: bool,
}

struct Injector<'p, 't> {
    pyc: &'p mut Pyc,
    table: &'static OpTable,
    info: &'t CodeInfo,
    target: ModuleTarget<'t>,
    hooks: &'t HookSet,
    body: Body,
    /// Location of each original instruction.
    locs: HashMap<Id, Location>,
    /// Whether names are looked up with LOAD_NAME (module and class bodies).
    name_scope: bool,
    firstlineno: i32,
    consts: HashMap<ConstKey, u32>,
    names: HashMap<String, u32>,
    /// Parameters in signature order with their slot.
    params: Vec<(String, Src)>,
    enter_local: Option<u32>,
    args_local: Option<u32>,
    generator_like: bool,
    changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ConstKey {
    None,
    Int(i64),
    Str(String),
    StrTuple(Vec<String>),
}

impl<'p, 't> Injector<'p, 't> {
    fn new(
        pyc: &'p mut Pyc,
        info: &'t CodeInfo,
        target: ModuleTarget<'t>,
        hooks: &'t HookSet,
    ) -> Result<Self, PycError> {
        let body = pyc.disassemble(info.node)?;
        let locs = body
            .instrs
            .iter()
            .map(|i| i.id)
            .zip(body.locations())
            .collect();
        let view = CodeView::new(&pyc.marshal, info.node).expect("code");
        let name_scope = view.ints().flags & super::code::CO_OPTIMIZED == 0;
        let firstlineno = view.ints().firstlineno;
        let generator_like = view.is_generator_like();
        let names = view
            .names(Field::Names)
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, i as u32))
            .collect();
        Ok(Injector {
            table: pyc.table,
            pyc,
            info,
            target,
            hooks,
            body,
            locs,
            name_scope,
            firstlineno,
            consts: HashMap::new(),
            names,
            params: Vec::new(),
            enter_local: None,
            args_local: None,
            generator_like,
            changed: false,
        })
    }

    fn err(&self, message: impl Into<String>) -> PycError {
        PycError::Code {
            qualname: code_label(&CodeView::new(&self.pyc.marshal, self.info.node).expect("code")),
            message: message.into(),
        }
    }

    fn op(&self, name: &str) -> Result<u8, PycError> {
        self.table
            .op(name)
            .ok_or_else(|| self.err(format!("Python 3.{} has no {name}", self.table.minor)))
    }

    fn ins(&mut self, name: &str, arg: u32) -> Result<Instr, PycError> {
        let op = self.op(name)?;
        Ok(Instr {
            id: self.body.new_id(),
            op,
            arg,
            target: None,
            min_units: 1,
        })
    }

    fn jump(&mut self, name: &str, target: Id) -> Result<Instr, PycError> {
        let mut i = self.ins(name, 0)?;
        i.target = Some(target);
        Ok(i)
    }

    // ---- constants and names ----

    fn konst(&mut self, key: ConstKey) -> u32 {
        if let Some(&i) = self.consts.get(&key) {
            return i;
        }
        let m = &mut self.pyc.marshal;
        let string = |m: &mut Marshal, s: &str| {
            m.push(Value::Str(
                StrKind::for_str(s, false),
                s.as_bytes().to_vec(),
            ))
        };
        let existing = CodeView::new(m, self.info.node)
            .expect("code")
            .items(Field::Consts)
            .unwrap_or_default()
            .to_vec();
        if key == ConstKey::None
            && let Some(i) = existing.iter().position(|&c| *m.value(c) == Value::None)
        {
            self.consts.insert(key, i as u32);
            return i as u32;
        }
        let node = match &key {
            ConstKey::None => m.push(Value::None),
            ConstKey::Int(v) => m.push(Value::Int(*v as i32)),
            ConstKey::Str(s) => string(m, s),
            ConstKey::StrTuple(items) => {
                let ids: Vec<NodeId> = items.iter().map(|s| string(m, s)).collect();
                m.push(Value::Tuple(ids.len() < 256, ids))
            }
        };
        let index = CodeEdit {
            m,
            node: self.info.node,
        }
        .append(Field::Consts, &[node]) as u32;
        self.consts.insert(key, index);
        self.changed = true;
        index
    }

    fn name(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.names.get(name) {
            return i;
        }
        let m = &mut self.pyc.marshal;
        let node = m.push(Value::Str(
            StrKind::for_str(name, true),
            name.as_bytes().to_vec(),
        ));
        let index = CodeEdit {
            m,
            node: self.info.node,
        }
        .append(Field::Names, &[node]) as u32;
        self.names.insert(name.to_string(), index);
        index
    }

    fn str_const(&mut self, s: &str) -> u32 {
        self.konst(ConstKey::Str(s.to_string()))
    }

    // ---- hidden locals ----

    /// Adds hidden locals; returns their slots. On 3.11+ they go after the last plain local
    /// (cells and free variables follow and are renumbered).
    fn add_locals(&mut self, names: &[&str]) -> Result<Vec<u32>, PycError> {
        let n = names.len() as u32;
        let minor = self.table.minor;
        let view = CodeView::new(&self.pyc.marshal, self.info.node).expect("code");
        if minor <= 10 {
            let first = view.names(Field::Varnames).len() as u32;
            let m = &mut self.pyc.marshal;
            let ids: Vec<NodeId> = names
                .iter()
                .map(|s| m.push(Value::Str(StrKind::for_str(s, true), s.as_bytes().to_vec())))
                .collect();
            let mut edit = CodeEdit {
                m,
                node: self.info.node,
            };
            edit.append(Field::Varnames, &ids);
            edit.ints_mut().nlocals += n as i32;
            return Ok((first..first + n).collect());
        }
        let kinds_now = view
            .bytes(Field::LocalsPlusKinds)
            .unwrap_or_default()
            .to_vec();
        let names_now = view
            .items(Field::LocalsPlusNames)
            .unwrap_or_default()
            .to_vec();
        let pos = kinds_now
            .iter()
            .position(|k| k & kinds::LOCAL == 0)
            .unwrap_or(kinds_now.len()) as u32;
        // Renumber references to the slots after `pos`.
        for ins in &mut self.body.instrs {
            let info = self.table.info(ins.op);
            if !(info.has(flags::LOCAL) || info.has(flags::FREE)) {
                continue;
            }
            if OpTable::packs_two_locals(info.name) {
                let (hi, lo) = (ins.arg >> 4, ins.arg & 15);
                let shift = |v: u32| if v >= pos { v + n } else { v };
                let (hi, lo) = (shift(hi), shift(lo));
                if hi > 15 || lo > 15 {
                    return Err(PycError::Code {
                        qualname: self.info.qualname.clone(),
                        message: format!("{} slot out of range after adding locals", info.name),
                    });
                }
                ins.arg = hi << 4 | lo;
            } else if ins.arg >= pos {
                ins.arg += n;
            }
        }
        let m = &mut self.pyc.marshal;
        let new_ids: Vec<NodeId> = names
            .iter()
            .map(|s| m.push(Value::Str(StrKind::for_str(s, true), s.as_bytes().to_vec())))
            .collect();
        let mut all_names = names_now;
        let p = pos as usize;
        all_names.splice(p..p, new_ids);
        let mut all_kinds = kinds_now;
        all_kinds.splice(p..p, std::iter::repeat_n(kinds::LOCAL, names.len()));
        let mut edit = CodeEdit {
            m,
            node: self.info.node,
        };
        edit.set(
            Field::LocalsPlusNames,
            Value::Tuple(all_names.len() < 256, all_names),
        );
        edit.set(Field::LocalsPlusKinds, Value::Bytes(all_kinds));
        Ok((pos..pos + n).collect())
    }

    // ---- call sequences ----

    fn load_global_or_name(
        &mut self,
        out: &mut Vec<Instr>,
        name: &str,
        null: bool,
    ) -> Result<(), PycError> {
        let i = self.name(name);
        let minor = self.table.minor;
        if self.name_scope {
            if null && (11..=12).contains(&minor) {
                out.push(self.ins("PUSH_NULL", 0)?);
            }
            out.push(self.ins("LOAD_NAME", i)?);
            if null && minor >= 13 {
                out.push(self.ins("PUSH_NULL", 0)?);
            }
        } else if minor >= 11 {
            out.push(self.ins("LOAD_GLOBAL", i << 1 | u32::from(null))?);
        } else {
            out.push(self.ins("LOAD_GLOBAL", i)?);
        }
        Ok(())
    }

    /// `CALL n` in the version's spelling (PRECALL first on 3.11).
    fn call_n(&mut self, out: &mut Vec<Instr>, n: u32, method: bool) -> Result<(), PycError> {
        match self.table.minor {
            8..=10 => out.push(if method {
                self.ins("CALL_METHOD", n)?
            } else {
                self.ins("CALL_FUNCTION", n)?
            }),
            11 => {
                out.push(self.ins("PRECALL", n)?);
                out.push(self.ins("CALL", n)?);
            }
            _ => out.push(self.ins("CALL", n)?),
        }
        Ok(())
    }

    /// Pushes one argument; `above_top` counts the values pushed since the call sequence
    /// started (for COPY of [`Src::Top`]).
    fn push_arg(
        &mut self,
        out: &mut Vec<Instr>,
        src: &Src,
        above_top: u32,
    ) -> Result<(), PycError> {
        match src {
            Src::Const(i) => out.push(self.ins("LOAD_CONST", *i)?),
            Src::Local { index, cell } => {
                let cell_index = if *cell && self.table.minor <= 10 {
                    // 3.8–3.10: LOAD_DEREF counts cells, not fast locals.
                    let view = CodeView::new(&self.pyc.marshal, self.info.node).expect("code");
                    let name = &view.names(Field::Varnames)[*index as usize];
                    view.names(Field::Cellvars)
                        .iter()
                        .position(|c| c == name)
                        .expect("a cell parameter is in co_cellvars") as u32
                } else {
                    *index
                };
                out.push(if *cell {
                    self.ins("LOAD_DEREF", cell_index)?
                } else {
                    self.ins("LOAD_FAST", *index)?
                });
            }
            Src::Top => out.push(self.ins("COPY", above_top + 1)?),
            Src::Snapshot(local, key) => {
                out.push(self.ins("LOAD_FAST", *local)?);
                out.push(self.ins("LOAD_CONST", *key)?);
                if self.table.subscript_is_binary_op() {
                    out.push(self.ins("BINARY_OP", NB_SUBSCR)?);
                } else {
                    out.push(self.ins("BINARY_SUBSCR", 0)?);
                }
            }
            Src::Arguments => {
                let params = self.params.clone();
                if self.table.op("BUILD_CONST_KEY_MAP").is_none() {
                    // 3.14+: key/value pairs for BUILD_MAP.
                    for (name, src) in &params {
                        let key = self.str_const(name);
                        out.push(self.ins("LOAD_CONST", key)?);
                        self.push_arg(out, src, 0)?;
                    }
                    out.push(self.ins("BUILD_MAP", params.len() as u32)?);
                    return Ok(());
                }
                for (_, src) in &params {
                    self.push_arg(out, src, 0)?;
                }
                if params.is_empty() {
                    out.push(self.ins("BUILD_MAP", 0)?);
                } else {
                    let keys = self.konst(ConstKey::StrTuple(
                        params.iter().map(|(n, _)| n.clone()).collect(),
                    ));
                    out.push(self.ins("LOAD_CONST", keys)?);
                    out.push(self.ins("BUILD_CONST_KEY_MAP", params.len() as u32)?);
                }
            }
            Src::Locals => {
                // `_equip_h._equip_locals()`: the calling (instrumented) frame's f_locals,
                // as the .py side does.
                let f = self.name("_equip_locals");
                self.load_global_or_name(out, MODULE_ALIAS, false)?;
                match self.table.minor {
                    8..=11 => out.push(self.ins("LOAD_METHOD", f)?),
                    _ => out.push(self.ins("LOAD_ATTR", f << 1 | 1)?),
                }
                self.call_n(out, 0, true)?;
            }
        }
        Ok(())
    }

    /// The arguments of a hook call at `site`, as (keyword, source).
    fn call_args(
        &mut self,
        abi: &HookAbi,
        site: &Site,
        dynamic: &dyn Fn(&mut Self, Placeholder) -> Src,
    ) -> Vec<(String, Src)> {
        let mut args = Vec::with_capacity(abi.params.len());
        let info = site.info;
        for &p in &abi.params {
            let opt = |me: &mut Self, v: Option<&str>| match v {
                Some(s) => Src::Const(me.str_const(s)),
                None => Src::Const(me.konst(ConstKey::None)),
            };
            let src = match p {
                Placeholder::Module => Src::Const(self.str_const(self.target.module)),
                Placeholder::FileName => Src::Const(self.str_const(self.target.file_name)),
                Placeholder::Function => {
                    let v = site.in_function.then_some(info.name.as_str());
                    opt(self, v)
                }
                Placeholder::Qualname => {
                    let v = site.in_function.then_some(info.qualname.as_str());
                    opt(self, v)
                }
                Placeholder::ClassName => {
                    let v = if site.in_function {
                        info.class_name.as_deref()
                    } else {
                        None
                    };
                    opt(self, v)
                }
                Placeholder::Lineno => {
                    Src::Const(self.konst(ConstKey::Int(i64::from(site.lineno))))
                }
                other => dynamic(self, other),
            };
            args.push((p.param_name(), src));
        }
        args
    }

    /// Emits `_equip_h.<hook>(args)`. Leaves the result on the stack; a [`Src::Top`]
    /// value stays below it on 3.11+, and on 3.8–3.10 too when `keep_top`.
    fn emit_call(
        &mut self,
        out: &mut Vec<Instr>,
        abi: &HookAbi,
        args: &[(String, Src)],
        keep_top: bool,
    ) -> Result<(), PycError> {
        let f = self.name(&abi.function);
        let minor = self.table.minor;
        let top = args.iter().position(|(_, s)| matches!(s, Src::Top));
        if minor <= 10 {
            if let Some(t) = top {
                // Keyword call with the stack value pushed first.
                if keep_top {
                    out.push(self.ins("DUP_TOP", 0)?);
                }
                self.load_global_or_name(out, MODULE_ALIAS, false)?;
                out.push(self.ins("LOAD_ATTR", f)?);
                out.push(self.ins("ROT_TWO", 0)?);
                let mut names = vec![args[t].0.clone()];
                for (i, (name, src)) in args.iter().enumerate() {
                    if i != t {
                        self.push_arg(out, src, 0)?;
                        names.push(name.clone());
                    }
                }
                let n = names.len() as u32;
                let names = self.konst(ConstKey::StrTuple(names));
                out.push(self.ins("LOAD_CONST", names)?);
                out.push(self.ins("CALL_FUNCTION_KW", n)?);
                return Ok(());
            }
            self.load_global_or_name(out, MODULE_ALIAS, false)?;
            out.push(self.ins("LOAD_METHOD", f)?);
            for (_, src) in args {
                self.push_arg(out, src, 0)?;
            }
            return self.call_n(out, args.len() as u32, true);
        }
        self.load_global_or_name(out, MODULE_ALIAS, false)?;
        if minor == 11 {
            out.push(self.ins("LOAD_METHOD", f)?);
        } else {
            out.push(self.ins("LOAD_ATTR", f << 1 | 1)?);
        }
        for (i, (_, src)) in args.iter().enumerate() {
            self.push_arg(out, src, 2 + i as u32)?;
        }
        self.call_n(out, args.len() as u32, true)
    }

    // ---- placing code ----

    fn index_of(&self, id: Id) -> Result<usize, PycError> {
        self.body
            .position(id)
            .ok_or_else(|| self.err("internal: instruction not found"))
    }

    /// Inserts `block` so that it runs instead of `x` when control reaches `x` (jumps to
    /// `x` and exception ranges starting or ending at `x` move to the block), except jumps
    /// for which `keep` is true. The block takes over `x`'s line entries (its location).
    fn insert_before(
        &mut self,
        x: Id,
        mut block: Vec<Instr>,
        keep: &dyn Fn(&Instr, usize) -> bool,
    ) -> Result<(), PycError> {
        if block.is_empty() {
            return Ok(());
        }
        let at = self.index_of(x)?;
        let moved = self.body.new_id();
        self.body.instrs[at].id = moved;
        let first_new = block[0].id;
        block[0].id = x;
        for ins in &mut block {
            if ins.target == Some(first_new) {
                ins.target = Some(x);
            }
        }
        for (i, ins) in self.body.instrs.iter_mut().enumerate() {
            if ins.target == Some(x) && keep(ins, i) {
                ins.target = Some(moved);
            }
        }
        for e in &mut self.body.lines {
            if e.anchor == x && e.byte > 0 {
                e.anchor = moved;
            }
        }
        if let Some(loc) = self.locs.get(&x).copied() {
            self.locs.insert(moved, loc);
        }
        self.body.instrs.splice(at..at, block);
        self.changed = true;
        Ok(())
    }

    /// Inserts `block` right before `x` without redirecting anything to it, with location
    /// `loc` (then `x`'s own location again).
    fn insert_at(&mut self, x: Id, block: Vec<Instr>, loc: Location) -> Result<(), PycError> {
        if block.is_empty() {
            return Ok(());
        }
        let at = self.index_of(x)?;
        let first = block[0].id;
        let x_loc = self.current_loc(x);
        // Line entries: after every entry anchored before `x`.
        let pos_of = self.body.positions();
        let insert_at = self
            .body
            .lines
            .iter()
            .position(|e| e.anchor == END || pos_of[&e.anchor] >= at)
            .unwrap_or(self.body.lines.len());
        self.body.lines.splice(
            insert_at..insert_at,
            [
                LineEntry {
                    anchor: first,
                    byte: 0,
                    loc,
                },
                LineEntry {
                    anchor: x,
                    byte: 0,
                    loc: x_loc,
                },
            ],
        );
        self.body.instrs.splice(at..at, block);
        self.changed = true;
        Ok(())
    }

    /// The location in effect at instruction `x` (original instructions only).
    fn current_loc(&self, x: Id) -> Location {
        self.locs.get(&x).copied().unwrap_or_default()
    }

    fn line_of(&self, x: Id) -> i32 {
        self.current_loc(x).line.unwrap_or(self.firstlineno)
    }

    fn def_loc(&self) -> Location {
        Location::line(self.firstlineno)
    }

    // ---- the injections ----

    /// Probes placed in this code object.
    fn probes(&mut self, sites: &[(usize, LineNumber)], config: &Config) -> Result<(), PycError> {
        let starts = line_starts(&self.body);
        for &(index, line) in sites {
            let Some(&(x, _)) = starts.iter().find(|&&(_, l)| l == line) else {
                continue;
            };
            let abi = HookAbi::of(config, HookKind::Probe(index)).expect("configured probe");
            let site = Site {
                // `x` starts `line`: its code-object line is the probe's line.
                lineno: self.line_of(x),
                info: self.info,
                in_function: self.info.scope == Scope::Function,
            };
            let args = self.call_args(&abi, &site, &|_, p| match p {
                Placeholder::Locals => Src::Locals,
                _ => Src::Const(0),
            });
            let mut block = Vec::new();
            self.emit_call(&mut block, &abi, &args, false)?;
            block.push(self.ins("POP_TOP", 0)?);
            let x_index = self.index_of(x)?;
            let locs = self.locs.clone();
            // The statement's own loop back-edges (later jumps from its own lines) skip it.
            self.insert_before(x, block, &|ins, i| {
                i > x_index
                    && locs
                        .get(&ins.id)
                        .and_then(|l| l.line)
                        .and_then(LineNumber::from_code)
                        .is_some_and(|l| l >= line)
            })?;
        }
        Ok(())
    }

    fn function(&mut self) -> Result<(), PycError> {
        let view = CodeView::new(&self.pyc.marshal, self.info.node).expect("code");
        let locals = view.locals();
        let param_names = view
            .parameters()
            .ok_or_else(|| self.err("argument counts exceed the local variables"))?;
        self.params = param_names
            .iter()
            .map(|p| {
                let index = locals.iter().position(|l| &l.name == p).unwrap_or(0);
                (
                    p.clone(),
                    Src::Local {
                        index: index as u32,
                        cell: locals.get(index).is_some_and(|l| l.cell),
                    },
                )
            })
            .collect();
        let hooks = self.hooks;
        let need_enter =
            hooks.enter.is_some() && hooks.after_entry_uses(|p| p == Placeholder::EnterValue);
        let need_args =
            hooks.after_entry_uses(|p| matches!(p, Placeholder::Arguments | Placeholder::Arg(_)));
        let gen_exit = self.generator_like && hooks.exit.is_some();
        let handler = hooks.error.is_some() || gen_exit;
        let mut hidden = Vec::new();
        if need_enter {
            hidden.push(ENTER_LOCAL);
        }
        if need_args {
            hidden.push(ARGS_LOCAL);
        }
        let slots = if hidden.is_empty() {
            Vec::new()
        } else {
            self.add_locals(&hidden)?
        };
        let mut slot = slots.into_iter();
        if need_enter {
            self.enter_local = slot.next();
        }
        if need_args {
            self.args_local = slot.next();
        }
        let start = prologue_end(&self.body);
        let x = self
            .body
            .instrs
            .get(start)
            .map(|i| i.id)
            .ok_or_else(|| self.err("function code ends in its prologue"))?;
        // Exits before every return (lines read before any code is inserted).
        let cleanup = self.cleanup_shapes();
        let returns: Vec<(Id, i32)> = self
            .returns()
            .into_iter()
            .map(|r| (r, self.return_line(r, &cleanup)))
            .collect();
        for (r, line) in returns {
            self.exit_at(r, line, handler)?;
        }
        // Entry.
        let mut entry = Vec::new();
        let handler_start = if handler && self.table.minor <= 10 {
            let h = self.body.new_id();
            entry.push(self.jump("SETUP_FINALLY", h)?);
            Some(h)
        } else {
            None
        };
        if let Some(local) = self.enter_local {
            let none = self.konst(ConstKey::None);
            entry.push(self.ins("LOAD_CONST", none)?);
            entry.push(self.ins("STORE_FAST", local)?);
        }
        if let Some(local) = self.args_local {
            self.push_arg(&mut entry, &Src::Arguments, 0)?;
            entry.push(self.ins("STORE_FAST", local)?);
        }
        if let Some(abi) = hooks.enter.clone() {
            let site = Site {
                lineno: self.firstlineno,
                info: self.info,
                in_function: true,
            };
            let args = self.call_args(&abi, &site, &|me, p| me.entry_value(p));
            self.emit_call(&mut entry, &abi, &args, false)?;
            match self.enter_local {
                Some(local) => entry.push(self.ins("STORE_FAST", local)?),
                None => entry.push(self.ins("POP_TOP", 0)?),
            }
        }
        let first_entry = entry.first().map(|i| i.id);
        let loc = self.def_loc();
        self.insert_at(x, entry, loc)?;
        if handler {
            self.handler(first_entry.unwrap_or(x), handler_start, gen_exit)?;
        }
        Ok(())
    }

    /// A value at entry: parameters read directly.
    fn entry_value(&mut self, p: Placeholder) -> Src {
        match p {
            Placeholder::Arguments => match self.args_local {
                Some(local) => Src::Local {
                    index: local,
                    cell: false,
                },
                None => Src::Arguments,
            },
            Placeholder::Arg(n) => match self.params.get(usize::from(n)) {
                Some((_, src)) => src.clone(),
                None => Src::Const(self.konst(ConstKey::None)),
            },
            other => unreachable!("{other} is not available at function entry"),
        }
    }

    /// A value after entry (exit, error): from the hidden locals.
    fn after_value(&mut self, p: Placeholder) -> Src {
        match p {
            Placeholder::Arguments => Src::Local {
                index: self.args_local.expect("snapshot kept"),
                cell: false,
            },
            Placeholder::Arg(n) => match self.params.get(usize::from(n)) {
                Some((name, _)) => {
                    let name = name.clone();
                    Src::Snapshot(
                        self.args_local.expect("snapshot kept"),
                        self.str_const(&name),
                    )
                }
                None => Src::Const(self.konst(ConstKey::None)),
            },
            Placeholder::EnterValue => Src::Local {
                index: self.enter_local.expect("enter value kept"),
                cell: false,
            },
            Placeholder::ReturnValue | Placeholder::Exception => Src::Top,
            other => unreachable!("{other} is not available after entry"),
        }
    }

    /// function-exit before the return `r` (and POP_BLOCK of the entry's handler block on
    /// 3.8–3.10).
    fn exit_at(&mut self, r: Id, lineno: i32, pop_block: bool) -> Result<(), PycError> {
        let pop_block = pop_block && self.table.minor <= 10;
        let Some(abi) = self.hooks.exit.clone() else {
            if pop_block {
                let b = vec![self.ins("POP_BLOCK", 0)?];
                self.insert_before(r, b, &|_, _| false)?;
            }
            return Ok(());
        };
        let site = Site {
            lineno,
            info: self.info,
            in_function: true,
        };
        let args = self.call_args(&abi, &site, &|me, p| me.after_value(p));
        let mut block = Vec::new();
        self.emit_call(&mut block, &abi, &args, false)?;
        if self.table.minor >= 11 {
            block.push(self.ins("SWAP", 2)?);
            block.push(self.ins("POP_TOP", 0)?);
        }
        if pop_block {
            block.push(self.ins("POP_BLOCK", 0)?);
        }
        let at = self.index_of(r)?;
        if self.table.info(self.body.instrs[at].op).name == "RETURN_CONST" {
            // RETURN_CONST k -> LOAD_CONST k; <exit>; RETURN_VALUE.
            self.body.instrs[at].op = self.op("LOAD_CONST")?;
            block.push(self.ins("RETURN_VALUE", 0)?);
            self.body.instrs.splice(at + 1..at + 1, block);
            self.changed = true;
            return Ok(());
        }
        self.insert_before(r, block, &|_, _| false)
    }

    /// `{lineno}` of the exit at return instruction `r`: the line of the `return` statement.
    ///
    /// CPython 3.10+ compiles the cleanup a `return` runs (a `with`'s `__exit__` call, a copy
    /// of a `finally` body) between the statement's own instructions and the return
    /// instruction, which takes the line of the last cleanup instruction (3.8 and 3.9 keep
    /// the statement's line on it). Walking back from `r`, this skips that cleanup: a
    /// constant loaded after it, then any run of `__exit__` calls (`[SWAP 2 | ROT_TWO | 3.14+
    /// SWAP 3 SWAP 2] LOAD_CONST None ×3 | LOAD_CONST None DUP_TOP DUP_TOP, CALL, [await],
    /// POP_TOP`, all on the `with` line; 3.15 loads `None` with `LOAD_COMMON_CONSTANT`) and of `finally` bodies (the instructions of a `finally` handler,
    /// which the compiler duplicates for the normal path); the first instruction before
    /// them carries the statement's line. A return with no such cleanup before it keeps its
    /// own line.
    fn return_line(&self, r: Id, cleanup: &CleanupShapes) -> i32 {
        let own = self.line_of(r);
        if self.table.minor < 10 {
            return own;
        }
        let Ok(at) = self.index_of(r) else {
            return own;
        };
        let ins = &self.body.instrs;
        let name = |i: usize| self.table.info(ins[i].op).name;
        let finally_bodies = &cleanup.finally_bodies;
        let mut k = at; // the cleanup ends before instruction `k`
        if k >= 2
            && name(k) == "RETURN_VALUE"
            && matches!(
                name(k - 1),
                "LOAD_CONST" | "LOAD_SMALL_INT" | "LOAD_COMMON_CONSTANT"
            )
        {
            k -= 1; // a constant is loaded after the cleanup
        }
        let mut skipped = false;
        loop {
            if let Some(start) = self.with_exit_ending_before(k, cleanup.none) {
                k = start;
            } else if let Some(len) = self.finally_body_ending_before(k, finally_bodies) {
                k -= len;
            } else if let Some(j) = self.loop_pops_before_cleanup(k, cleanup) {
                k = j; // the iterators of the loops the `return` leaves
                continue;
            } else {
                break;
            }
            skipped = true;
        }
        if !skipped {
            return own;
        }
        (0..k)
            .rev()
            .find_map(|i| self.locs.get(&ins[i].id).and_then(|l| l.line))
            .filter(|&l| l > 0)
            .unwrap_or(own)
    }

    /// The length of a copy of one of `bodies` that ends right before instruction `k`.
    fn finally_body_ending_before(&self, k: usize, bodies: &[Vec<CodeKey>]) -> Option<usize> {
        let ins = &self.body.instrs;
        bodies
            .iter()
            .find(|b| {
                b.len() <= k
                    && ins[k - b.len()..k]
                        .iter()
                        .zip(b.iter())
                        .all(|(i, key)| self.code_key(i) == *key)
            })
            .map(Vec::len)
    }

    /// Where the pops of `for` iterators (`[SWAP 2 | ROT_TWO] POP_TOP` each, 3.15
    /// `SWAP 3 POP_TOP POP_TOP`) that end right
    /// before `k` start, when `with`/`finally` cleanup ends right before them.
    fn loop_pops_before_cleanup(&self, k: usize, cleanup: &CleanupShapes) -> Option<usize> {
        let ins = &self.body.instrs;
        let name = |i: usize| self.table.info(ins[i].op).name;
        let mut j = k;
        for _ in 0..8 {
            if j == 0 || name(j - 1) != "POP_TOP" {
                return None;
            }
            j -= 1;
            // 3.15 keeps two stack items per `for` loop: `SWAP 3 POP_TOP POP_TOP`.
            if j > 0
                && (name(j - 1) == "ROT_TWO"
                    || (name(j - 1) == "SWAP" && matches!(ins[j - 1].arg, 2 | 3)))
            {
                j -= 1;
            }
            if self.with_exit_ending_before(j, cleanup.none).is_some()
                || self
                    .finally_body_ending_before(j, &cleanup.finally_bodies)
                    .is_some()
            {
                return Some(j);
            }
        }
        None
    }

    /// What two copies of the same code have in common: opcode, argument (but for jumps)
    /// and line.
    fn code_key(&self, i: &Instr) -> CodeKey {
        let info = self.table.info(i.op);
        // The handler's copy checks for unbound locals where the normal path need not.
        let name = match info.name {
            "LOAD_FAST_CHECK" => "LOAD_FAST",
            other => other,
        };
        let arg = if info.is_jump() { 0 } else { i.arg };
        (name, arg, self.locs.get(&i.id).and_then(|l| l.line))
    }

    /// The cleanup code of this code object's `finally` handlers and its `None` constant,
    /// for [`Injector::return_line`].
    fn cleanup_shapes(&self) -> CleanupShapes {
        if self.table.minor < 10 {
            return CleanupShapes::default();
        }
        CleanupShapes {
            finally_bodies: self.finally_bodies(),
            none: self.consts_none(),
        }
    }

    /// The instructions of each `finally` handler's copy of its body (3.10+): from the
    /// handler's start (after `PUSH_EXC_INFO` on 3.11+) to its `RERAISE 0`.
    fn finally_bodies(&self) -> Vec<Vec<CodeKey>> {
        let ins = &self.body.instrs;
        let minor = self.table.minor;
        let targets: Vec<Id> = if minor >= 11 {
            self.body.exc.iter().map(|e| e.target).collect()
        } else {
            ins.iter()
                .filter(|i| self.table.info(i.op).name == "SETUP_FINALLY")
                .filter_map(|i| i.target)
                .collect()
        };
        let mut out: Vec<Vec<CodeKey>> = Vec::new();
        for t in targets {
            let Ok(mut j) = self.index_of(t) else {
                continue;
            };
            if minor >= 11 {
                if self.table.info(ins[j].op).name != "PUSH_EXC_INFO" {
                    continue;
                }
                j += 1;
            }
            let Some(end) = (j..ins.len())
                .find(|&e| self.table.info(ins[e].op).name == "RERAISE" && ins[e].arg == 0)
            else {
                continue;
            };
            let body: Vec<CodeKey> = ins[j..end].iter().map(|i| self.code_key(i)).collect();
            if !body.is_empty() && !out.contains(&body) {
                out.push(body);
            }
        }
        out
    }

    /// The start of a `with`'s normal-path `__exit__` call that ends right before `k`.
    fn with_exit_ending_before(&self, k: usize, none: Option<u32>) -> Option<usize> {
        let ins = &self.body.instrs;
        let name = |i: usize| self.table.info(ins[i].op).name;
        let line = |i: usize| self.locs.get(&ins[i].id).and_then(|l| l.line);
        if k == 0 || name(k - 1) != "POP_TOP" {
            return None;
        }
        let with_line = line(k - 1)?;
        // Back over the awaiting of `__aexit__` to the call, all on the `with` line.
        let mut c = k - 1;
        let call = loop {
            if c == 0 || k - c > 12 || line(c - 1) != Some(with_line) {
                return None;
            }
            c -= 1;
            match name(c) {
                "CALL" | "CALL_FUNCTION" => break c,
                "GET_AWAITABLE"
                | "LOAD_CONST"
                | "LOAD_COMMON_CONSTANT"
                | "PUSH_NULL"
                | "SEND"
                | "YIELD_VALUE"
                | "YIELD_FROM"
                | "RESUME"
                | "JUMP_BACKWARD_NO_INTERRUPT"
                | "END_SEND" => {}
                _ => return None,
            }
        };
        let load_none = |i: usize| match name(i) {
            "LOAD_CONST" => Some(ins[i].arg) == none,
            "LOAD_COMMON_CONSTANT" => Some(ins[i].arg) == self.table.common_constant_none(),
            _ => false,
        };
        let mut start = if self.table.minor >= 11 {
            let precall = call > 0 && name(call - 1) == "PRECALL";
            let first = call.checked_sub(if precall { 4 } else { 3 })?;
            (first..first + 3).all(load_none).then_some(first)?
        } else {
            let first = call.checked_sub(3)?;
            (load_none(first) && name(first + 1) == "DUP_TOP" && name(first + 2) == "DUP_TOP")
                .then_some(first)?
        };
        if (start..call).any(|i| line(i) != Some(with_line)) {
            return None;
        }
        // The returned value is swapped below the exit (`SWAP 2`; 3.14+ `SWAP 3, SWAP 2`, the
        // bound `__exit__` taking two stack slots).
        for _ in 0..if self.table.minor >= 14 { 2 } else { 1 } {
            if start > 0
                && matches!(name(start - 1), "SWAP" | "ROT_TWO")
                && line(start - 1) == Some(with_line)
            {
                start -= 1;
            }
        }
        if start > 0 && name(start - 1) == "POP_BLOCK" && line(start - 1) == Some(with_line) {
            start -= 1;
        }
        Some(start)
    }

    /// The index of `None` in the original `co_consts`.
    fn consts_none(&self) -> Option<u32> {
        let m = &self.pyc.marshal;
        CodeView::new(m, self.info.node)
            .expect("code")
            .items(Field::Consts)
            .unwrap_or_default()
            .iter()
            .position(|&c| *m.value(c) == Value::None)
            .map(|i| i as u32)
    }

    /// The instructions that return from this code object (`RETURN_VALUE`, `RETURN_CONST`).
    fn returns(&self) -> Vec<Id> {
        self.body
            .instrs
            .iter()
            .filter(|i| matches!(self.table.info(i.op).name, "RETURN_VALUE" | "RETURN_CONST"))
            .map(|i| i.id)
            .collect()
    }

    /// The function-error hook call with its result popped (nothing without that hook).
    fn error_hook_call(&mut self) -> Result<Vec<Instr>, PycError> {
        let mut block = Vec::new();
        if let Some(abi) = self.hooks.error.clone() {
            let site = Site {
                lineno: self.firstlineno,
                info: self.info,
                in_function: true,
            };
            let args = self.call_args(&abi, &site, &|me, p| me.after_value(p));
            self.emit_call(&mut block, &abi, &args, true)?;
            block.push(self.ins("POP_TOP", 0)?);
        }
        Ok(block)
    }

    /// The function-error handler (and GeneratorExit -> exit for generator-like code),
    /// covering everything from `first` to the end of the original code.
    fn handler(
        &mut self,
        first: Id,
        setup_target: Option<Id>,
        gen_exit: bool,
    ) -> Result<(), PycError> {
        let minor = self.table.minor;
        let mut h = Vec::new();
        let raise_id;
        if minor <= 10 {
            // Stack: [prev tb, prev value, prev type, tb, value, type].
            let start_id = setup_target.expect("SETUP_FINALLY target");
            let mut err_block = vec![self.ins("POP_TOP", 0)?];
            err_block.extend(self.error_hook_call()?);
            let raise = self.ins("RAISE_VARARGS", 0)?;
            raise_id = raise.id;
            if gen_exit {
                let err_first = err_block[0].id;
                h.push(self.ins("DUP_TOP", 0)?);
                let ge = self.name("GeneratorExit");
                h.push(self.ins("LOAD_GLOBAL", ge)?);
                if minor == 8 {
                    h.push(self.ins("COMPARE_OP", 10)?);
                    h.push(self.jump("POP_JUMP_IF_FALSE", err_first)?);
                } else {
                    h.push(self.jump("JUMP_IF_NOT_EXC_MATCH", err_first)?);
                }
                h.push(self.ins("POP_TOP", 0)?);
                self.gen_exit_call(&mut h)?;
                h.push(self.jump("JUMP_FORWARD", raise_id)?);
            }
            h.extend(err_block);
            h.push(raise);
            h[0].id = start_id;
            self.append_block(h)?;
            return Ok(());
        }
        // 3.11+: stack [lasti, exc] at the handler.
        let push = self.ins("PUSH_EXC_INFO", 0)?;
        let handler_id = push.id;
        h.push(push);
        let err_block = self.error_hook_call()?;
        let raise = self.ins("RERAISE", 2)?;
        raise_id = raise.id;
        if gen_exit {
            let after = err_block.first().map_or(raise_id, |i| i.id);
            let ge = self.name("GeneratorExit");
            h.push(self.ins("LOAD_GLOBAL", ge << 1)?);
            h.push(self.ins("CHECK_EXC_MATCH", 0)?);
            let pj = if minor == 11 {
                "POP_JUMP_FORWARD_IF_FALSE"
            } else {
                "POP_JUMP_IF_FALSE"
            };
            h.push(self.jump(pj, after)?);
            self.gen_exit_call(&mut h)?;
            h.push(self.jump("JUMP_FORWARD", raise_id)?);
        }
        h.extend(err_block);
        h.push(raise);
        let body_first = h.get(1).map_or(raise_id, |i| i.id);
        let cleanup = vec![
            self.ins("COPY", 3)?,
            self.ins("POP_EXCEPT", 0)?,
            self.ins("RERAISE", 1)?,
        ];
        let cleanup_id = cleanup[0].id;
        h.extend(cleanup);
        self.append_block(h)?;
        // Exception table: fill the gaps of [first, handler) with the handler, and cover
        // the handler body with the cleanup.
        let pos = self.body.positions();
        let at = |id: Id| if id == END { usize::MAX } else { pos[&id] };
        let (lo, hi) = (at(first), at(handler_id));
        let mut covered = vec![false; hi];
        for e in &self.body.exc {
            let (s, t) = (at(e.start), at(e.end).min(hi));
            for c in covered.iter_mut().take(t).skip(s) {
                *c = true;
            }
        }
        let mut entries: Vec<(usize, ExcEntry)> =
            self.body.exc.iter().map(|e| (at(e.start), *e)).collect();
        let mut i = lo;
        while i < hi {
            if covered[i] {
                i += 1;
                continue;
            }
            let s = i;
            while i < hi && !covered[i] {
                i += 1;
            }
            entries.push((
                s,
                ExcEntry {
                    start: self.body.instrs[s].id,
                    end: self.body.instrs[i].id,
                    target: handler_id,
                    depth: 0,
                    lasti: true,
                },
            ));
        }
        entries.push((
            at(body_first),
            ExcEntry {
                start: body_first,
                end: cleanup_id,
                target: cleanup_id,
                depth: 2,
                lasti: true,
            },
        ));
        entries.sort_by_key(|(s, _)| *s);
        self.body.exc = entries.into_iter().map(|(_, e)| e).collect();
        // Every yield is now inside one more handler. `gen.close()` skips throwing
        // GeneratorExit when a yield is only inside the implicit StopIteration handler:
        // 3.12 reads that depth from YIELD_VALUE's argument, 3.13+ from a bit of the
        // following RESUME's argument (RESUME_OPARG_DEPTH1_MASK).
        let yield_value = self.table.op("YIELD_VALUE");
        let resume = self.table.op("RESUME");
        let counts_in_yield = self.table.yield_value_counts_handlers();
        let depth_bit = self.table.resume_except_depth_bit();
        for ins in &mut self.body.instrs[lo..hi] {
            if counts_in_yield && Some(ins.op) == yield_value {
                ins.arg += 1;
            } else if let Some(bit) = depth_bit
                && Some(ins.op) == resume
            {
                ins.arg &= !bit;
            }
        }
        Ok(())
    }

    /// function-exit with return value None (a generator closed by GeneratorExit).
    fn gen_exit_call(&mut self, out: &mut Vec<Instr>) -> Result<(), PycError> {
        let abi = self.hooks.exit.clone().expect("exit hook");
        let site = Site {
            lineno: self.firstlineno,
            info: self.info,
            in_function: true,
        };
        let args = self.call_args(&abi, &site, &|me, p| match p {
            Placeholder::ReturnValue => Src::Const(me.konst(ConstKey::None)),
            other => me.after_value(other),
        });
        self.emit_call(out, &abi, &args, false)?;
        out.push(self.ins("POP_TOP", 0)?);
        Ok(())
    }

    /// Appends code after the last instruction, on the `def` line.
    fn append_block(&mut self, block: Vec<Instr>) -> Result<(), PycError> {
        let first = block[0].id;
        let loc = self.def_loc();
        let at = self
            .body
            .lines
            .iter()
            .position(|e| e.anchor == END)
            .unwrap_or(self.body.lines.len());
        self.body.lines.insert(
            at,
            LineEntry {
                anchor: first,
                byte: 0,
                loc,
            },
        );
        self.body.instrs.extend(block);
        self.changed = true;
        Ok(())
    }

    /// Module code: bind the hooks (and run module-enter) after the docstring and
    /// `from __future__` imports; module-exit before each return.
    fn module(&mut self, binding: &Binding) -> Result<(), PycError> {
        let x = self.module_body_start()?;
        let hooks = self.hooks;
        if let Some(abi) = hooks.module_exit.clone() {
            for r in self.returns() {
                let site = Site {
                    lineno: self.line_of(r),
                    info: self.info,
                    in_function: false,
                };
                let args = self.call_args(&abi, &site, &|_, p| unreachable!("{p} in module-exit"));
                let mut block = Vec::new();
                self.emit_call(&mut block, &abi, &args, false)?;
                block.push(self.ins("POP_TOP", 0)?);
                let at = self.index_of(r)?;
                if self.table.info(self.body.instrs[at].op).name == "RETURN_CONST" {
                    self.body.instrs[at].op = self.op("LOAD_CONST")?;
                    block.push(self.ins("RETURN_VALUE", 0)?);
                    self.body.instrs.splice(at + 1..at + 1, block);
                } else {
                    self.insert_before(r, block, &|_, _| false)?;
                }
            }
        }
        // The binding expression of the `.py` side (`Binding`), straight-line code.
        let mut block = Vec::new();
        self.emit_binding(&mut block, binding)?;
        if let Some(abi) = hooks.module_enter.clone() {
            let site = Site {
                lineno: self.line_of(x),
                info: self.info,
                in_function: false,
            };
            let args = self.call_args(&abi, &site, &|_, p| unreachable!("{p} in module-enter"));
            self.emit_call(&mut block, &abi, &args, false)?;
            block.push(self.ins("POP_TOP", 0)?);
        }
        let loc = self.current_loc(x);
        let loc = if loc.line.is_some() {
            loc
        } else {
            Location::line(self.line_of(x))
        };
        self.insert_at(x, block, loc)
    }

    /// Emits `Binding::expression` as an expression statement:
    /// `exec(getattr(__import__(getattr(__import__('importlib.util').util.find_spec(<hooks
    /// module>), 'name', 'sys')), <attribute>, <fallback>), globals())`. Module code only
    /// (names resolve with LOAD_NAME).
    fn emit_binding(&mut self, out: &mut Vec<Instr>, binding: &Binding) -> Result<(), PycError> {
        self.load_global_or_name(out, "exec", true)?;
        self.load_global_or_name(out, "getattr", true)?;
        self.load_global_or_name(out, "__import__", true)?;
        self.load_global_or_name(out, "getattr", true)?;
        // `__import__('importlib.util').util.find_spec(<hooks module>)`
        self.load_global_or_name(out, "__import__", true)?;
        let importlib_util = self.str_const("importlib.util");
        out.push(self.ins("LOAD_CONST", importlib_util)?);
        self.call_n(out, 1, false)?;
        let util = self.name("util");
        let arg = if self.table.minor >= 12 {
            util << 1
        } else {
            util
        };
        out.push(self.ins("LOAD_ATTR", arg)?);
        let find_spec = self.name("find_spec");
        match self.table.minor {
            8..=11 => out.push(self.ins("LOAD_METHOD", find_spec)?),
            _ => out.push(self.ins("LOAD_ATTR", find_spec << 1 | 1)?),
        }
        let module = self.str_const(&binding.module);
        out.push(self.ins("LOAD_CONST", module)?);
        self.call_n(out, 1, true)?;
        // `getattr(<spec>, 'name', 'sys')`
        let name = self.str_const("name");
        out.push(self.ins("LOAD_CONST", name)?);
        let sys = self.str_const("sys");
        out.push(self.ins("LOAD_CONST", sys)?);
        self.call_n(out, 3, false)?;
        // `__import__(...)`
        self.call_n(out, 1, false)?;
        // `getattr(<module>, <attribute>, <fallback>)`
        let attribute = self.str_const(&binding.attribute);
        out.push(self.ins("LOAD_CONST", attribute)?);
        let fallback = self.str_const(&binding.fallback);
        out.push(self.ins("LOAD_CONST", fallback)?);
        self.call_n(out, 3, false)?;
        // `globals()`
        self.load_global_or_name(out, "globals", true)?;
        self.call_n(out, 0, false)?;
        // `exec(...)`
        self.call_n(out, 2, false)?;
        out.push(self.ins("POP_TOP", 0)?);
        Ok(())
    }

    /// The first instruction of the module body proper.
    fn module_body_start(&self) -> Result<Id, PycError> {
        let m = &self.pyc.marshal;
        let view = CodeView::new(m, self.info.node).expect("code");
        let consts = view.items(Field::Consts).unwrap_or_default();
        let names = view.names(Field::Names);
        let ins = &self.body.instrs;
        let name = |i: usize| ins.get(i).map(|x| self.table.info(x.op).name);
        let is_str_const = |i: usize| {
            ins.get(i)
                .and_then(|x| consts.get(x.arg as usize))
                .is_some_and(|&c| m.str_of(c).is_some())
        };
        let name_arg = |i: usize| {
            ins.get(i)
                .and_then(|x| {
                    let arg = if self.table.info(x.op).name == "IMPORT_NAME" {
                        self.table.import_name_index(x.arg)
                    } else {
                        x.arg
                    };
                    names.get(arg as usize)
                })
                .map(String::as_str)
        };
        let mut i = prologue_end(&self.body);
        if self.table.has_annotate_functions() {
            i = skip_annotation_header(&self.body, i, &name_arg);
        }
        if name(i) == Some("LOAD_CONST")
            && is_str_const(i)
            && name(i + 1) == Some("STORE_NAME")
            && name_arg(i + 1) == Some("__doc__")
        {
            i += 2;
        }
        while matches!(name(i), Some("LOAD_CONST" | "LOAD_SMALL_INT"))
            && name(i + 1) == Some("LOAD_CONST")
            && name(i + 2) == Some("IMPORT_NAME")
            && name_arg(i + 2) == Some("__future__")
        {
            let mut j = i + 3;
            while name(j) == Some("IMPORT_FROM") && name(j + 1) == Some("STORE_NAME") {
                j += 2;
            }
            if name(j) == Some("POP_TOP") {
                j += 1;
            }
            i = j;
        }
        ins.get(i)
            .map(|x| x.id)
            .ok_or_else(|| self.err("module code has no body"))
    }

    /// Reassembles, recomputes the stack size and stores the code object.
    fn finish(self) -> Result<(), PycError> {
        if !self.changed {
            return Ok(());
        }
        let depth = self
            .body
            .stack_depth()
            .map_err(|e| self.err(e.to_string()))?;
        self.pyc.store(self.info.node, &self.body)?;
        let mut edit = CodeEdit {
            m: &mut self.pyc.marshal,
            node: self.info.node,
        };
        let ints = edit.ints_mut();
        ints.stacksize = ints.stacksize.max(depth as i32);
        Ok(())
    }
}
