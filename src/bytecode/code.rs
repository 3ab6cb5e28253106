//! Code objects of CPython 3.8–3.15 as stored in a [`Marshal`] arena: field layout per
//! version, reading the fields, and the properties injection needs (kind of scope,
//! parameters, cell variables).
//!
//! Layouts (`Python/marshal.c`, `w_object` of `PyCode_Type`):
//! - 3.8–3.10: `code, consts, names, varnames, freevars, cellvars, filename, name,
//!   [firstlineno], lnotab` (3.8/3.9) or `linetable` (3.10);
//! - 3.11+: `code, consts, names, localsplusnames, localspluskinds, filename, name,
//!   qualname, [firstlineno], linetable, exceptiontable`.

use super::marshal::{CodeInts, CodeNode, Marshal, NodeId, Value};

/// `CO_OPTIMIZED`: function scopes (not module or class bodies).
pub const CO_OPTIMIZED: i32 = 0x1;
/// `CO_VARARGS`: has `*args`.
pub const CO_VARARGS: i32 = 0x4;
/// `CO_VARKEYWORDS`: has `**kwargs`.
pub const CO_VARKEYWORDS: i32 = 0x8;
/// `CO_GENERATOR`.
pub const CO_GENERATOR: i32 = 0x20;
/// `CO_COROUTINE`.
pub const CO_COROUTINE: i32 = 0x80;
/// `CO_ITERABLE_COROUTINE`.
pub const CO_ITERABLE_COROUTINE: i32 = 0x100;
/// `CO_ASYNC_GENERATOR`.
pub const CO_ASYNC_GENERATOR: i32 = 0x200;

/// `co_localspluskinds` bits (3.11+, `Include/internal/pycore_code.h`).
pub mod kinds {
    /// Plain local (arguments too).
    pub const LOCAL: u8 = 0x20;
    /// Cell variable.
    pub const CELL: u8 = 0x40;
    /// Free variable.
    pub const FREE: u8 = 0x80;
}

/// A code object field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `co_code`.
    Code,
    /// `co_consts`.
    Consts,
    /// `co_names`.
    Names,
    /// `co_varnames` (3.8–3.10).
    Varnames,
    /// `co_freevars` (3.8–3.10).
    Freevars,
    /// `co_cellvars` (3.8–3.10).
    Cellvars,
    /// `co_localsplusnames` (3.11+).
    LocalsPlusNames,
    /// `co_localspluskinds` (3.11+).
    LocalsPlusKinds,
    /// `co_filename`.
    Filename,
    /// `co_name`.
    Name,
    /// `co_qualname` (3.11+).
    Qualname,
    /// `co_lnotab` (3.8/3.9) or `co_linetable` (3.10+).
    LineTable,
    /// `co_exceptiontable` (3.11+).
    ExceptionTable,
}

impl Field {
    /// Position of the field among the object fields of a 3.`minor` code object.
    pub fn index(self, minor: u8) -> Option<usize> {
        use Field::*;
        let modern = minor >= 11;
        Some(match (self, modern) {
            (Code, _) => 0,
            (Consts, _) => 1,
            (Names, _) => 2,
            (Varnames, false) => 3,
            (Freevars, false) => 4,
            (Cellvars, false) => 5,
            (Filename, false) => 6,
            (Name, false) => 7,
            (LineTable, false) => 8,
            (LocalsPlusNames, true) => 3,
            (LocalsPlusKinds, true) => 4,
            (Filename, true) => 5,
            (Name, true) => 6,
            (Qualname, true) => 7,
            (LineTable, true) => 8,
            (ExceptionTable, true) => 9,
            _ => return None,
        })
    }
}

/// Kind of scope a code object is, for deciding what gets instrumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Module body.
    Module,
    /// `class` body.
    Class,
    /// `def` / `async def`.
    Function,
    /// `lambda`.
    Lambda,
    /// Comprehension or generator expression.
    Comprehension,
    /// A PEP 649/749 annotation function (`__annotate__`, 3.14+) of a function, class or
    /// module: `annotationlib` runs it with fake globals for the FORWARDREF and STRING
    /// formats, so it is never instrumented.
    Annotate,
    /// Another compiler-made scope (`<generic parameters of ...>`, annotation scopes, ...).
    Other,
}

/// One local variable slot of a function, with what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// The name.
    pub name: String,
    /// Whether it is (also) a cell variable.
    pub cell: bool,
    /// Whether it is a free variable.
    pub free: bool,
}

/// Read access to one code object of an arena.
#[derive(Debug, Clone, Copy)]
pub struct CodeView<'m> {
    /// The arena.
    pub m: &'m Marshal,
    /// The code node.
    pub node: NodeId,
}

impl<'m> CodeView<'m> {
    /// A view of `node`, which must be a code object.
    pub fn new(m: &'m Marshal, node: NodeId) -> Option<Self> {
        let node = m.resolve(node);
        matches!(m.nodes[node as usize].value, Value::Code(_)).then_some(CodeView { m, node })
    }

    /// The code node's content.
    pub fn raw(&self) -> &'m CodeNode {
        match &self.m.nodes[self.node as usize].value {
            Value::Code(c) => c,
            _ => unreachable!("checked in CodeView::new"),
        }
    }

    /// The integer fields.
    pub fn ints(&self) -> &'m CodeInts {
        &self.raw().ints
    }

    /// The node of `field` (following references), if this version has it.
    pub fn field(&self, field: Field) -> Option<NodeId> {
        let i = field.index(self.m.minor)?;
        Some(self.m.resolve(*self.raw().fields.get(i)?))
    }

    /// Bytes of a bytes field (`co_code`, line and exception tables).
    pub fn bytes(&self, field: Field) -> Option<&'m [u8]> {
        self.m.bytes_of(self.field(field)?)
    }

    /// Text of a string field (`co_name`, `co_qualname`, `co_filename`).
    pub fn text(&self, field: Field) -> Option<String> {
        self.m.str_of(self.field(field)?).map(|s| s.into_owned())
    }

    /// Items of a tuple field.
    pub fn items(&self, field: Field) -> Option<&'m [NodeId]> {
        self.m.tuple_of(self.field(field)?)
    }

    /// Strings of a tuple-of-strings field.
    pub fn names(&self, field: Field) -> Vec<String> {
        self.items(field)
            .unwrap_or_default()
            .iter()
            .map(|&n| self.m.str_of(n).map(|s| s.into_owned()).unwrap_or_default())
            .collect()
    }

    /// `co_name`.
    pub fn name(&self) -> String {
        self.text(Field::Name).unwrap_or_default()
    }

    /// The scope kind, from the flags and the name.
    pub fn scope(&self, is_module: bool) -> Scope {
        if is_module {
            return Scope::Module;
        }
        let name = self.name();
        if self.ints().flags & CO_OPTIMIZED == 0 {
            return Scope::Class;
        }
        if self.is_annotate() {
            return Scope::Annotate;
        }
        match name.as_str() {
            "<lambda>" => Scope::Lambda,
            "<listcomp>" | "<setcomp>" | "<dictcomp>" | "<genexpr>" => Scope::Comprehension,
            n if n.starts_with('<') => Scope::Other,
            _ => Scope::Function,
        }
    }

    /// Whether this is a compiler-made PEP 649/749 annotation function (3.14+): named
    /// `__annotate__`, one positional-only parameter `format`.
    pub fn is_annotate(&self) -> bool {
        let i = self.ints();
        self.m.minor >= 14
            && i.argcount == 1
            && i.posonlyargcount == 1
            && self.name() == "__annotate__"
            && self
                .names(Field::LocalsPlusNames)
                .first()
                .map(String::as_str)
                == Some("format")
    }

    /// Whether the code is a generator, coroutine or async generator.
    pub fn is_generator_like(&self) -> bool {
        self.ints().flags
            & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE)
            != 0
    }

    /// Every local slot in index order: on 3.8–3.10 `co_varnames` (the fast locals), on
    /// 3.11+ `co_localsplusnames` with their kinds.
    pub fn locals(&self) -> Vec<Local> {
        if self.m.minor >= 11 {
            let names = self.names(Field::LocalsPlusNames);
            let kinds = self.bytes(Field::LocalsPlusKinds).unwrap_or_default();
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    let k = kinds.get(i).copied().unwrap_or(0);
                    Local {
                        name,
                        cell: k & kinds::CELL != 0,
                        free: k & kinds::FREE != 0,
                    }
                })
                .collect()
        } else {
            let cells = self.names(Field::Cellvars);
            self.names(Field::Varnames)
                .into_iter()
                .map(|name| Local {
                    cell: cells.contains(&name),
                    free: false,
                    name,
                })
                .collect()
        }
    }

    /// The parameters in signature order (positional-only, regular, `*args`, keyword-only,
    /// `**kwargs`): these are the first local slots, in that order. `None` when the counts
    /// do not fit the local names (not a code object CPython made).
    pub fn parameters(&self) -> Option<Vec<String>> {
        let i = self.ints();
        let n = i.argcount.max(0) as usize
            + i.kwonlyargcount.max(0) as usize
            + usize::from(i.flags & CO_VARARGS != 0)
            + usize::from(i.flags & CO_VARKEYWORDS != 0);
        let locals = if self.m.minor >= 11 {
            self.names(Field::LocalsPlusNames)
        } else {
            self.names(Field::Varnames)
        };
        if i.argcount < 0 || i.kwonlyargcount < 0 || n > locals.len() {
            return None;
        }
        // Argument order in the slots: positional, keyword-only, *args, **kwargs.
        let pos = i.argcount.max(0) as usize;
        let kwonly = i.kwonlyargcount.max(0) as usize;
        let mut out = Vec::with_capacity(n);
        let get = |k: usize| locals.get(k).cloned().unwrap_or_default();
        out.extend((0..pos).map(get));
        let mut next = pos + kwonly;
        let varargs = (i.flags & CO_VARARGS != 0).then(|| {
            next += 1;
            get(next - 1)
        });
        let varkw = (i.flags & CO_VARKEYWORDS != 0).then(|| get(next));
        out.extend(varargs);
        out.extend((pos..pos + kwonly).map(get));
        out.extend(varkw);
        Some(out)
    }

    /// The nested code objects in `co_consts`, with their index there.
    pub fn nested(&self) -> Vec<(usize, NodeId)> {
        self.items(Field::Consts)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, &c)| CodeView::new(self.m, c).map(|v| (i, v.node)))
            .collect()
    }
}

/// Mutable helpers on a code node: append to tuple fields, set bytes fields.
pub struct CodeEdit<'m> {
    /// The arena.
    pub m: &'m mut Marshal,
    /// The code node.
    pub node: NodeId,
}

impl CodeEdit<'_> {
    fn fields_mut(&mut self) -> &mut Vec<NodeId> {
        match &mut self.m.nodes[self.node as usize].value {
            Value::Code(c) => &mut c.fields,
            _ => unreachable!("a code node"),
        }
    }

    /// The integer fields, for update.
    pub fn ints_mut(&mut self) -> &mut CodeInts {
        match &mut self.m.nodes[self.node as usize].value {
            Value::Code(c) => &mut c.ints,
            _ => unreachable!("a code node"),
        }
    }

    /// Replaces `field` by a new node holding `value` (shared objects stay as they are).
    pub fn set(&mut self, field: Field, value: Value) {
        let i = field
            .index(self.m.minor)
            .expect("field exists in this version");
        let id = self.m.push(value);
        self.fields_mut()[i] = id;
    }

    /// Appends `items` to the tuple in `field` (as a new tuple node); returns the index of
    /// the first appended item.
    pub fn append(&mut self, field: Field, items: &[NodeId]) -> usize {
        let i = field
            .index(self.m.minor)
            .expect("field exists in this version");
        let slot = self.fields_mut()[i];
        let current = self.m.resolve(slot);
        let mut all = match &self.m.nodes[current as usize].value {
            Value::Tuple(_, items) => items.clone(),
            _ => Vec::new(),
        };
        let first = all.len();
        all.extend_from_slice(items);
        // marshal version 4 writes tuples shorter than 256 as "small tuples".
        let small = all.len() < 256;
        self.set(field, Value::Tuple(small, all));
        first
    }
}

impl CodeEdit<'_> {
    /// Sets a bytes field, keeping the existing node when the content is unchanged (so an
    /// unmodified object is written back byte for byte, shared references included).
    pub fn set_bytes(&mut self, field: Field, bytes: Vec<u8>) {
        let i = field
            .index(self.m.minor)
            .expect("field exists in this version");
        let slot = self.fields_mut()[i];
        let current = self.m.resolve(slot);
        if self.m.bytes_of(current) == Some(bytes.as_slice()) {
            return;
        }
        self.set(field, Value::Bytes(bytes));
    }
}
