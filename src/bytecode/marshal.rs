//! The `marshal` format of CPython 3.8–3.15 (`Python/marshal.c`; version 4 up to 3.13, 5 on
//! 3.14 which adds slices `:`, 6 on 3.15 which adds frozendicts `}`): a reader and a writer
//! that round-trip a stream byte for byte, FLAG_REF back-references included.
//!
//! A stream is read into an arena of [`Node`]s. Every object keeps the type code it was
//! written with (`u`/`t`/`a`/`A`/`z`/`Z` for strings, `(`/`)` for tuples, ...) and its
//! FLAG_REF bit; a back-reference stays a [`Value::Ref`] to the index of the flagged
//! object, in the order flagged type bytes appear in the stream. Writing the arena again
//! therefore reproduces the input exactly. Objects added later (constants, names) are
//! written without FLAG_REF, so no existing reference index moves.

/// Bit 7 of a type byte: the object joins the reference list.
pub const FLAG_REF: u8 = 0x80;

/// Deepest nesting accepted. CPython allows 2000 (`MAX_MARSHAL_STACK_DEPTH`); we stop at
/// 512 to bound native stack use on worker threads (a code object nested in a function
/// takes two levels: its `co_consts` tuple and itself, so this is 255 nested `def`s).
pub const MAX_DEPTH: usize = 512;

/// Index of a node in a [`Marshal`] arena.
pub type NodeId = u32;

/// Why a marshal stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("marshal data, byte {offset}: {message}")]
pub struct MarshalError {
    /// Byte offset in the stream where the problem is.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// How a string object was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrKind {
    /// `u`: UTF-8 (surrogatepass), int32 length.
    Unicode,
    /// `t`: interned UTF-8, int32 length.
    Interned,
    /// `a`: ASCII, int32 length.
    Ascii,
    /// `A`: interned ASCII, int32 length.
    AsciiInterned,
    /// `z`: short ASCII, u8 length.
    ShortAscii,
    /// `Z`: interned short ASCII, u8 length.
    ShortAsciiInterned,
}

impl StrKind {
    fn code(self) -> u8 {
        match self {
            StrKind::Unicode => b'u',
            StrKind::Interned => b't',
            StrKind::Ascii => b'a',
            StrKind::AsciiInterned => b'A',
            StrKind::ShortAscii => b'z',
            StrKind::ShortAsciiInterned => b'Z',
        }
    }

    /// The kind CPython 3.8–3.13 picks for a new string `s` (interned or not).
    pub fn for_str(s: &str, interned: bool) -> StrKind {
        match (s.is_ascii(), s.len() < 256, interned) {
            (true, true, false) => StrKind::ShortAscii,
            (true, true, true) => StrKind::ShortAsciiInterned,
            (true, false, false) => StrKind::Ascii,
            (true, false, true) => StrKind::AsciiInterned,
            (false, _, false) => StrKind::Unicode,
            (false, _, true) => StrKind::Interned,
        }
    }
}

/// The raw integer fields of a code object (`co_*`), in marshal order per version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeInts {
    /// `co_argcount`.
    pub argcount: i32,
    /// `co_posonlyargcount`.
    pub posonlyargcount: i32,
    /// `co_kwonlyargcount`.
    pub kwonlyargcount: i32,
    /// `co_nlocals` (3.8–3.10 only; derived from the kinds on 3.11+).
    pub nlocals: i32,
    /// `co_stacksize`.
    pub stacksize: i32,
    /// `co_flags`.
    pub flags: i32,
    /// `co_firstlineno`.
    pub firstlineno: i32,
}

/// Number of object fields of a code object: 3.8–3.10 `code, consts, names, varnames,
/// freevars, cellvars, filename, name, lnotab/linetable`; 3.11+ `code, consts, names,
/// localsplusnames, localspluskinds, filename, name, qualname, linetable, exceptiontable`.
pub fn code_field_count(minor: u8) -> usize {
    if minor >= 11 { 10 } else { 9 }
}

/// A marshalled code object: its integers and its object fields in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeNode {
    /// The int32 fields.
    pub ints: CodeInts,
    /// The object fields, see [`code_field_count`].
    pub fields: Vec<NodeId>,
}

/// One marshalled object.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `0`: NULL (dict terminator; never a value of its own).
    Null,
    /// `N`.
    None,
    /// `F`.
    False,
    /// `T`.
    True,
    /// `S`.
    StopIteration,
    /// `.`.
    Ellipsis,
    /// `i`: int32.
    Int(i32),
    /// `l`: arbitrary-precision int: signed digit count and 15-bit digits, least
    /// significant first.
    Long(i32, Vec<u16>),
    /// `g`: IEEE double, as its bits.
    Float(u64),
    /// `y`: complex of two doubles, as bits.
    Complex(u64, u64),
    /// `f`: float as text (marshal version 0/1).
    TextFloat(Vec<u8>),
    /// `x`: complex as two texts (marshal version 0/1).
    TextComplex(Vec<u8>, Vec<u8>),
    /// `s`: bytes.
    Bytes(Vec<u8>),
    /// A string, in the encoding its kind says (UTF-8 surrogatepass or ASCII).
    Str(StrKind, Vec<u8>),
    /// `(` (`small` false) or `)` (`small` true).
    Tuple(bool, Vec<NodeId>),
    /// `[`.
    List(Vec<NodeId>),
    /// `{`: key/value pairs, NULL-terminated in the stream.
    Dict(Vec<(NodeId, NodeId)>),
    /// `<`.
    Set(Vec<NodeId>),
    /// `>`.
    FrozenSet(Vec<NodeId>),
    /// `}` (marshal version 6, CPython 3.15+): a frozendict, written like a dict.
    FrozenDict(Vec<(NodeId, NodeId)>),
    /// `:` (marshal version 5, CPython 3.14+): `slice(start, stop, step)`, as in the
    /// constant slices of `co_consts`.
    Slice(Box<[NodeId; 3]>),
    /// `c`.
    Code(Box<CodeNode>),
    /// `r`: a reference to the n-th flagged object.
    Ref(u32),
}

/// An object with its FLAG_REF bit.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Whether the type byte had FLAG_REF.
    pub flag: bool,
    /// The object.
    pub value: Value,
}

/// A decoded marshal stream: an arena of nodes, the reference list and the root object.
#[derive(Debug, Clone, PartialEq)]
pub struct Marshal {
    /// The CPython minor version whose code-object layout was used.
    pub minor: u8,
    /// Every node; `root` and references point into it.
    pub nodes: Vec<Node>,
    /// Node of each FLAG_REF index.
    pub refs: Vec<NodeId>,
    /// The top-level object.
    pub root: NodeId,
}

impl Marshal {
    /// Reads a whole stream (as written by `marshal.dumps` of CPython 3.`minor`).
    ///
    /// Errors: truncated data, an unknown type code, a bad reference, nesting deeper than
    /// [`MAX_DEPTH`], or bytes left after the root object.
    pub fn read(data: &[u8], minor: u8) -> Result<Marshal, MarshalError> {
        let mut r = Reader {
            data,
            pos: 0,
            minor,
            nodes: Vec::new(),
            refs: Vec::new(),
            depth: 0,
        };
        let root = r.object()?;
        if r.pos != data.len() {
            return Err(r.err(format!(
                "{} bytes left after the object",
                data.len() - r.pos
            )));
        }
        Ok(Marshal {
            minor,
            nodes: r.nodes,
            refs: r.refs.into_iter().map(|n| n.unwrap_or(root)).collect(),
            root,
        })
    }

    /// Writes the stream; the inverse of [`Marshal::read`].
    ///
    /// Reference indices are assigned again in write order, so nodes may be shared, added
    /// or dropped freely: a flagged node met a second time is written as a reference, and a
    /// reference to a node not written yet is written in full. An unmodified arena gives
    /// back the bytes it was read from.
    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer {
            m: self,
            out: Vec::with_capacity(self.nodes.len() * 8),
            index_of: vec![u32::MAX; self.nodes.len()],
            next: 0,
        };
        w.node(self.root);
        w.out
    }

    /// The node `id`, following a reference.
    pub fn resolve(&self, id: NodeId) -> NodeId {
        match self.nodes[id as usize].value {
            Value::Ref(i) => self.refs[i as usize],
            _ => id,
        }
    }

    /// The value of `id`, following a reference.
    pub fn value(&self, id: NodeId) -> &Value {
        &self.nodes[self.resolve(id) as usize].value
    }

    /// Adds a node (without FLAG_REF) and returns its id.
    pub fn push(&mut self, value: Value) -> NodeId {
        self.nodes.push(Node { flag: false, value });
        (self.nodes.len() - 1) as NodeId
    }

    /// The string `id` holds, if it is a string (UTF-8, lossy for lone surrogates).
    pub fn str_of(&self, id: NodeId) -> Option<std::borrow::Cow<'_, str>> {
        match self.value(id) {
            Value::Str(_, b) => Some(String::from_utf8_lossy(b)),
            _ => None,
        }
    }

    /// The bytes `id` holds, if it is a bytes object.
    pub fn bytes_of(&self, id: NodeId) -> Option<&[u8]> {
        match self.value(id) {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items of the tuple `id`, if it is a tuple.
    pub fn tuple_of(&self, id: NodeId) -> Option<&[NodeId]> {
        match self.value(id) {
            Value::Tuple(_, items) => Some(items),
            _ => None,
        }
    }

    /// Points `slot` (a field of some node) at a new unflagged node holding `value`; the
    /// old node is left alone, so objects shared through references do not change.
    pub fn replace_child(&mut self, slot: &mut NodeId, value: Value) {
        *slot = self.push(value);
    }
}

struct Writer<'m> {
    m: &'m Marshal,
    out: Vec<u8>,
    /// New reference index of each flagged node written so far.
    index_of: Vec<u32>,
    next: u32,
}

impl Writer<'_> {
    fn node(&mut self, id: NodeId) {
        let m = self.m;
        let node = &m.nodes[id as usize];
        if let Value::Ref(index) = node.value {
            return self.node(m.refs[index as usize]);
        }
        if node.flag {
            let known = self.index_of[id as usize];
            if known != u32::MAX {
                self.out.push(b'r');
                self.out.extend_from_slice(&known.to_le_bytes());
                return;
            }
            self.index_of[id as usize] = self.next;
            self.next += 1;
        }
        let flag = if node.flag { FLAG_REF } else { 0 };
        let out = &mut self.out;
        let len = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes());
        match &node.value {
            Value::Null => out.push(b'0'),
            Value::None => out.push(b'N' | flag),
            Value::False => out.push(b'F' | flag),
            Value::True => out.push(b'T' | flag),
            Value::StopIteration => out.push(b'S' | flag),
            Value::Ellipsis => out.push(b'.' | flag),
            Value::Int(v) => {
                out.push(b'i' | flag);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Long(n, digits) => {
                out.push(b'l' | flag);
                out.extend_from_slice(&n.to_le_bytes());
                for d in digits {
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
            Value::Float(bits) => {
                out.push(b'g' | flag);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Value::Complex(re, im) => {
                out.push(b'y' | flag);
                out.extend_from_slice(&re.to_le_bytes());
                out.extend_from_slice(&im.to_le_bytes());
            }
            Value::TextFloat(t) => {
                out.push(b'f' | flag);
                out.push(t.len() as u8);
                out.extend_from_slice(t);
            }
            Value::TextComplex(a, b) => {
                out.push(b'x' | flag);
                for t in [a, b] {
                    out.push(t.len() as u8);
                    out.extend_from_slice(t);
                }
            }
            Value::Bytes(b) => {
                out.push(b's' | flag);
                len(out, b.len());
                out.extend_from_slice(b);
            }
            Value::Str(kind, b) => {
                out.push(kind.code() | flag);
                match kind {
                    StrKind::ShortAscii | StrKind::ShortAsciiInterned => out.push(b.len() as u8),
                    _ => len(out, b.len()),
                }
                out.extend_from_slice(b);
            }
            Value::Tuple(small, items) => {
                if *small {
                    out.push(b')' | flag);
                    out.push(items.len() as u8);
                } else {
                    out.push(b'(' | flag);
                    len(out, items.len());
                }
                for &i in items {
                    self.node(i);
                }
            }
            Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => {
                let code = match &node.value {
                    Value::List(_) => b'[',
                    Value::Set(_) => b'<',
                    _ => b'>',
                };
                out.push(code | flag);
                len(out, items.len());
                for &i in items {
                    self.node(i);
                }
            }
            Value::Dict(pairs) | Value::FrozenDict(pairs) => {
                let code = if matches!(node.value, Value::Dict(_)) {
                    b'{'
                } else {
                    b'}'
                };
                out.push(code | flag);
                for &(k, v) in pairs {
                    self.node(k);
                    self.node(v);
                }
                self.out.push(b'0');
            }
            Value::Slice(parts) => {
                out.push(b':' | flag);
                for &p in parts.iter() {
                    self.node(p);
                }
            }
            Value::Code(code) => {
                out.push(b'c' | flag);
                let i = &code.ints;
                let mut ints = vec![i.argcount, i.posonlyargcount, i.kwonlyargcount];
                if m.minor <= 10 {
                    ints.push(i.nlocals);
                }
                ints.extend([i.stacksize, i.flags]);
                for v in ints {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                let before_firstlineno = code.fields.len() - if m.minor >= 11 { 2 } else { 1 };
                for (n, &f) in code.fields.iter().enumerate() {
                    if n == before_firstlineno {
                        self.out.extend_from_slice(&i.firstlineno.to_le_bytes());
                    }
                    self.node(f);
                }
            }
            Value::Ref(_) => unreachable!("references are followed above"),
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    minor: u8,
    nodes: Vec<Node>,
    refs: Vec<Option<NodeId>>,
    depth: usize,
}

impl Reader<'_> {
    fn err(&self, message: impl Into<String>) -> MarshalError {
        MarshalError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], MarshalError> {
        if self.data.len() - self.pos < n {
            return Err(self.err(format!(
                "truncated: {n} bytes needed, {} left",
                self.data.len() - self.pos
            )));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, MarshalError> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, MarshalError> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, MarshalError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A length that must fit in what is left, `unit` bytes per element at least.
    fn len(&mut self, unit: usize) -> Result<usize, MarshalError> {
        let at = self.pos;
        let n = self.i32()?;
        let left = self.data.len() - self.pos;
        if n < 0 || (n as usize).saturating_mul(unit) > left {
            self.pos = at;
            return Err(self.err(format!("bad length {n} ({left} bytes left)")));
        }
        Ok(n as usize)
    }

    fn push(&mut self, flag: bool, value: Value) -> NodeId {
        self.nodes.push(Node { flag, value });
        (self.nodes.len() - 1) as NodeId
    }

    /// Reserves the next reference index when `flag` is set.
    fn reserve(&mut self, flag: bool) -> Option<usize> {
        flag.then(|| {
            self.refs.push(None);
            self.refs.len() - 1
        })
    }

    fn object(&mut self) -> Result<NodeId, MarshalError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let r = self.object_inner();
        self.depth -= 1;
        r
    }

    /// Tuples, lists, sets, frozensets and dicts: they join the reference list before
    /// their items. Kept out of `object_inner` so each nesting level uses little stack.
    #[inline(never)]
    fn container(
        &mut self,
        code: u8,
        flag: bool,
        slot: Option<usize>,
    ) -> Result<NodeId, MarshalError> {
        match code {
            b'(' | b')' | b'[' | b'<' | b'>' => {
                let n = if code == b')' {
                    usize::from(self.u8()?)
                } else {
                    self.len(1)?
                };
                // Tuples, lists and sets join the reference list before their items; a
                // frozenset (like a code object) only once complete, so a reference to it
                // from inside itself is refused, as CPython's marshal does.
                let id = self.push(flag, Value::Null);
                if let Some(s) = slot.filter(|_| code != b'>') {
                    self.refs[s] = Some(id);
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let item = self.object()?;
                    if matches!(self.nodes[item as usize].value, Value::Null) {
                        return Err(self.err("NULL inside a container"));
                    }
                    items.push(item);
                }
                self.nodes[id as usize].value = match code {
                    b'(' => Value::Tuple(false, items),
                    b')' => Value::Tuple(true, items),
                    b'[' => Value::List(items),
                    b'<' => Value::Set(items),
                    _ => Value::FrozenSet(items),
                };
                if let Some(s) = slot {
                    self.refs[s] = Some(id);
                }
                Ok(id)
            }
            b'{' | b'}' => {
                let id = self.push(flag, Value::Null);
                if let Some(s) = slot {
                    self.refs[s] = Some(id);
                }
                let mut pairs = Vec::new();
                loop {
                    let k = self.object()?;
                    if matches!(self.nodes[k as usize].value, Value::Null) {
                        break;
                    }
                    let v = self.object()?;
                    if matches!(self.nodes[v as usize].value, Value::Null) {
                        return Err(self.err("NULL dict value"));
                    }
                    pairs.push((k, v));
                }
                self.nodes[id as usize].value = if code == b'{' {
                    Value::Dict(pairs)
                } else {
                    Value::FrozenDict(pairs)
                };
                Ok(id)
            }
            _ => unreachable!("container codes only"),
        }
    }

    #[inline(never)]
    fn code_object(&mut self) -> Result<Value, MarshalError> {
        Ok({
            let mut ints = CodeInts {
                argcount: self.i32()?,
                posonlyargcount: self.i32()?,
                kwonlyargcount: self.i32()?,
                ..CodeInts::default()
            };
            if self.minor <= 10 {
                ints.nlocals = self.i32()?;
            }
            ints.stacksize = self.i32()?;
            ints.flags = self.i32()?;
            let count = code_field_count(self.minor);
            let before_firstlineno = count - if self.minor >= 11 { 2 } else { 1 };
            let mut fields = Vec::with_capacity(count);
            for n in 0..count {
                if n == before_firstlineno {
                    ints.firstlineno = self.i32()?;
                }
                let f = self.object()?;
                if matches!(self.nodes[f as usize].value, Value::Null) {
                    return Err(self.err("NULL code object field"));
                }
                fields.push(f);
            }
            Value::Code(Box::new(CodeNode { ints, fields }))
        })
    }

    #[inline(never)]
    fn object_inner(&mut self) -> Result<NodeId, MarshalError> {
        let start = self.pos;
        let byte = self.u8()?;
        let flag = byte & FLAG_REF != 0;
        let code = byte & !FLAG_REF;
        let slot = if code == b'r' || code == b'0' {
            if flag {
                self.pos = start;
                return Err(self.err("FLAG_REF on a reference or NULL"));
            }
            None
        } else {
            self.reserve(flag)
        };
        let value = match code {
            b'0' => Value::Null,
            b'N' => Value::None,
            b'F' => Value::False,
            b'T' => Value::True,
            b'S' => Value::StopIteration,
            b'.' => Value::Ellipsis,
            b'i' => Value::Int(self.i32()?),
            b'l' => {
                let at = self.pos;
                let n = self.i32()?;
                let count = n.unsigned_abs() as usize;
                if count.saturating_mul(2) > self.data.len() - self.pos {
                    self.pos = at;
                    return Err(self.err(format!("bad long size {n}")));
                }
                let mut digits = Vec::with_capacity(count);
                for _ in 0..count {
                    let b = self.take(2)?;
                    let d = u16::from_le_bytes([b[0], b[1]]);
                    if d >= 1 << 15 {
                        return Err(self.err("long digit out of range"));
                    }
                    digits.push(d);
                }
                Value::Long(n, digits)
            }
            b'g' => Value::Float(self.u64()?),
            b'y' => {
                let re = self.u64()?;
                Value::Complex(re, self.u64()?)
            }
            b'f' => {
                let n = usize::from(self.u8()?);
                Value::TextFloat(self.take(n)?.to_vec())
            }
            b'x' => {
                let n = usize::from(self.u8()?);
                let re = self.take(n)?.to_vec();
                let n = usize::from(self.u8()?);
                Value::TextComplex(re, self.take(n)?.to_vec())
            }
            b's' => {
                let n = self.len(1)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            b'u' | b't' | b'a' | b'A' => {
                let kind = match code {
                    b'u' => StrKind::Unicode,
                    b't' => StrKind::Interned,
                    b'a' => StrKind::Ascii,
                    _ => StrKind::AsciiInterned,
                };
                let n = self.len(1)?;
                Value::Str(kind, self.take(n)?.to_vec())
            }
            b'z' | b'Z' => {
                let kind = if code == b'z' {
                    StrKind::ShortAscii
                } else {
                    StrKind::ShortAsciiInterned
                };
                let n = usize::from(self.u8()?);
                Value::Str(kind, self.take(n)?.to_vec())
            }
            b'(' | b')' | b'[' | b'<' | b'>' | b'{' => return self.container(code, flag, slot),
            b'}' if self.minor >= 15 => return self.container(code, flag, slot),
            b':' if self.minor >= 14 => {
                let mut parts = [0; 3];
                for p in &mut parts {
                    *p = self.object()?;
                    if matches!(self.nodes[*p as usize].value, Value::Null) {
                        return Err(self.err("NULL inside a slice"));
                    }
                }
                Value::Slice(Box::new(parts))
            }
            b'c' => self.code_object()?,
            b'r' => {
                let at = self.pos;
                let index = self.i32()?;
                let ok = usize::try_from(index)
                    .ok()
                    .and_then(|i| self.refs.get(i).copied().flatten())
                    .is_some();
                if !ok {
                    self.pos = at;
                    return Err(self.err(format!(
                        "reference {index} to an object not read yet ({} known)",
                        self.refs.len()
                    )));
                }
                Value::Ref(index as u32)
            }
            other => {
                self.pos = start;
                return Err(self.err(format!("unknown type code {:#04x}", other)));
            }
        };
        let id = self.push(flag, value);
        if let Some(s) = slot {
            self.refs[s] = Some(id);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_containers_and_refs_round_trip() {
        // ('ab', 'ab'-ref, 1, None) with the tuple and the string flagged.
        let data = [
            b')' | FLAG_REF,
            4,
            b'z' | FLAG_REF,
            2,
            b'a',
            b'b',
            b'r',
            1,
            0,
            0,
            0,
            b'i',
            1,
            0,
            0,
            0,
            b'N',
        ];
        let m = Marshal::read(&data, 11).unwrap();
        assert_eq!(m.refs.len(), 2);
        let items = m.tuple_of(m.root).unwrap();
        assert_eq!(m.str_of(items[1]).as_deref(), Some("ab"));
        assert_eq!(m.write(), data);
    }

    #[test]
    fn slices_and_frozendicts_round_trip_from_their_versions() {
        // `marshal.dumps(slice(1, 2, None))` of 3.14 and
        // `marshal.dumps(frozendict(a=1))` of 3.15 (the interned key and the int flagged).
        let slice = b":\xe9\x01\x00\x00\x00\xe9\x02\x00\x00\x00N";
        let m = Marshal::read(slice, 14).unwrap();
        assert!(matches!(m.value(m.root), Value::Slice(_)));
        assert_eq!(m.refs.len(), 2);
        assert_eq!(m.write(), slice);
        let e = Marshal::read(slice, 13).unwrap_err();
        assert!(e.message.contains("unknown type code 0x3a"), "{e}");
        let frozendict = b"}\xda\x01a\xe9\x01\x00\x00\x000";
        let m = Marshal::read(frozendict, 15).unwrap();
        assert!(matches!(m.value(m.root), Value::FrozenDict(p) if p.len() == 1));
        assert_eq!(m.write(), frozendict);
        assert!(Marshal::read(frozendict, 14).is_err());
    }

    #[test]
    fn errors_name_the_offset() {
        let e = Marshal::read(&[b'i', 1, 2], 11).unwrap_err();
        assert!(e.message.contains("truncated"), "{e}");
        let e = Marshal::read(&[b'r', 0, 0, 0, 0], 11).unwrap_err();
        assert_eq!(e.offset, 1);
        let e = Marshal::read(b"?", 11).unwrap_err();
        assert!(e.to_string().contains("unknown type code 0x3f"), "{e}");
        let e = Marshal::read(b"NN", 11).unwrap_err();
        assert!(e.message.contains("left after"), "{e}");
        // Unoptimized builds use large frames: give the deep parse a roomy stack.
        let deep = [b'[', 1, 0, 0, 0].repeat(MAX_DEPTH + 1);
        let e = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || Marshal::read(&deep, 11).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(e.message.contains("deeply"), "{e}");
    }

    /// A flagged code object (3.8 layout, so minor 8) whose co_consts is `consts`.
    fn code_with_consts(consts: &[u8]) -> Vec<u8> {
        let mut data = vec![b'c' | FLAG_REF];
        data.extend([0u8; 4 * 6]); // argcount .. flags
        data.extend(b"s\0\0\0\0"); // co_code
        data.extend(consts);
        data.extend(b")\0".repeat(4)); // names, varnames, freevars, cellvars
        data.extend(b"z\0z\0"); // filename, name
        data.extend([0u8; 4]); // firstlineno
        data.extend(b"s\0\0\0\0"); // lnotab
        data
    }

    #[test]
    fn references_to_an_object_still_being_read_are_refused_as_cpython_does() {
        // A code object holding itself in co_consts: marshal.loads says "invalid reference".
        let cycle = code_with_consts(b")\x01r\0\0\0\0");
        let e = Marshal::read(&cycle, 8).unwrap_err();
        assert!(e.message.contains("not read yet"), "{e}");
        // The same code object without the cycle reads (the layout above is right).
        assert!(Marshal::read(&code_with_consts(b")\x01N"), 8).is_ok());
        // A frozenset joins the references only once complete, like a code object.
        let e = Marshal::read(b"\xbe\x01\0\0\0r\0\0\0\0", 11).unwrap_err();
        assert!(e.message.contains("not read yet"), "{e}");
        // A tuple joins them before its items: marshal.loads gives ((...),).
        assert!(Marshal::read(b"\xa8\x01\0\0\0r\0\0\0\0", 11).is_ok());
    }

    #[test]
    fn modified_shared_tuple_keeps_the_other_referrer() {
        // (('x',), <ref to inner tuple>): give the second slot its own longer copy.
        let data = [
            b')',
            2,
            b')' | FLAG_REF,
            1,
            b'z' | FLAG_REF,
            1,
            b'x',
            b'r',
            0,
            0,
            0,
            0,
        ];
        let mut m = Marshal::read(&data, 12).unwrap();
        let mut items = m.tuple_of(m.root).unwrap().to_vec();
        let mut copy = m.tuple_of(items[1]).unwrap().to_vec();
        copy.push(m.push(Value::Int(7)));
        m.replace_child(&mut items[1], Value::Tuple(true, copy));
        let root = m.root as usize;
        m.nodes[root].value = Value::Tuple(true, items);
        let again = Marshal::read(&m.write(), 12).unwrap();
        let t = again.tuple_of(again.root).unwrap();
        assert_eq!(again.tuple_of(t[0]).unwrap().len(), 1);
        let second = again.tuple_of(t[1]).unwrap();
        assert_eq!(second.len(), 2);
        assert_eq!(again.str_of(second[0]).as_deref(), Some("x"));
    }

    #[test]
    fn a_reference_to_a_dropped_object_is_written_in_full() {
        // ['x'-flagged, ref 1]: drop the first item; the reference must carry the string.
        let data = [b'[', 2, 0, 0, 0, b'z' | FLAG_REF, 1, b'x', b'r', 0, 0, 0, 0];
        let mut m = Marshal::read(&data, 12).unwrap();
        if let Value::List(items) = &mut m.nodes[m.root as usize].value {
            items.remove(0);
        }
        assert_eq!(m.write(), [b'[', 1, 0, 0, 0, b'z' | FLAG_REF, 1, b'x']);
    }
}
