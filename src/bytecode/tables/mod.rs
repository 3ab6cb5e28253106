//! Per-version opcode tables, generated from the real interpreters by
//! `scripts/gen_bytecode_tables.py` (one file per minor version; do not edit them by hand).
//!
//! Each [`OpTable`] answers, for one CPython minor version: the opcode's name, whether it
//! takes an argument, its jump kind, how many inline `CACHE` code units follow it (3.11+),
//! and its stack effect as `dis.stack_effect` of that interpreter computes it.

mod py310;
mod py311;
mod py312;
mod py313;
mod py314;
mod py315;
mod py38;
mod py39;

/// Opcode property bits of [`OpInfo::flags`].
pub mod flags {
    /// The instruction uses its argument (`opcode.hasarg`, or `op >= HAVE_ARGUMENT`).
    pub const HAS_ARG: u16 = 1 << 0;
    /// Relative jump (`opcode.hasjrel`).
    pub const JREL: u16 = 1 << 1;
    /// Absolute jump (`opcode.hasjabs`, 3.8–3.10).
    pub const JABS: u16 = 1 << 2;
    /// The argument indexes `co_consts`.
    pub const CONST: u16 = 1 << 3;
    /// The argument indexes `co_names`.
    pub const NAME: u16 = 1 << 4;
    /// The argument indexes the local variables.
    pub const LOCAL: u16 = 1 << 5;
    /// The argument indexes cell/free variables.
    pub const FREE: u16 = 1 << 6;
    /// Control never continues to the next instruction (returns, raises, unconditional jumps).
    pub const NO_FALLTHROUGH: u16 = 1 << 7;
    /// The relative jump counts backwards (3.11+).
    pub const BACKWARD: u16 = 1 << 8;
    /// A 3.8–3.10 block setup (SETUP_FINALLY, SETUP_WITH, SETUP_ASYNC_WITH): its target is
    /// an exception handler, not a jump taken in normal flow.
    pub const BLOCK_SETUP: u16 = 1 << 9;
}

/// A stack effect as a function of the instruction's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The interpreter reports no effect (not a real instruction in code objects).
    Unknown,
    /// `c + k * arg`.
    Linear(i16, i16),
    /// `c + sum(w[j] * bit j of arg)` for flag arguments.
    Bits(i16, [i8; 8]),
    /// `c + lo * (arg & 0xff) + hi * (arg >> 8)` (UNPACK_EX).
    Split(i16, i16, i16),
    /// Listed for arguments 0..16 only.
    Table([i16; 16]),
}

impl Effect {
    /// The effect at `arg`, or `None` when the table does not know it.
    pub fn at(&self, arg: u32) -> Option<i32> {
        let a = i64::from(arg);
        let v = match *self {
            Effect::Unknown => return None,
            Effect::Linear(c, k) => i64::from(c) + i64::from(k) * a,
            Effect::Bits(c, w) => {
                i64::from(c)
                    + (0..8)
                        .filter(|j| arg >> j & 1 == 1)
                        .map(|j| i64::from(w[j]))
                        .sum::<i64>()
            }
            Effect::Split(c, lo, hi) => {
                i64::from(c) + i64::from(lo) * (a & 0xff) + i64::from(hi) * (a >> 8)
            }
            Effect::Table(t) => i64::from(*t.get(arg as usize)?),
        };
        i32::try_from(v).ok()
    }
}

/// What one opcode is.
#[derive(Debug, Clone, Copy)]
pub struct OpInfo {
    /// `opcode.opname[op]`; empty for unused opcodes.
    pub name: &'static str,
    /// Bits from [`flags`].
    pub flags: u16,
    /// Inline cache code units after the instruction (3.11+).
    pub cache: u8,
    /// Stack effect when the jump (if any) is not taken.
    pub effect: Effect,
    /// Stack effect when the jump is taken (same as `effect` for non-jumps).
    pub jump_effect: Effect,
}

impl OpInfo {
    /// The entry of an opcode number the interpreter does not define.
    pub const UNUSED: OpInfo = OpInfo {
        name: "",
        flags: 0,
        cache: 0,
        effect: Effect::Unknown,
        jump_effect: Effect::Unknown,
    };

    /// Whether `flag` (from [`flags`]) is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// Whether the instruction jumps (relative or absolute).
    pub fn is_jump(&self) -> bool {
        self.has(flags::JREL) || self.has(flags::JABS)
    }
}

/// All opcodes of one CPython minor version.
#[derive(Debug)]
pub struct OpTable {
    /// The minor version (8 for 3.8).
    pub minor: u8,
    /// The final magic number of that version (`importlib.util.MAGIC_NUMBER`).
    pub magic: u16,
    /// `opcode.HAVE_ARGUMENT`.
    pub have_argument: u8,
    /// `opcode.EXTENDED_ARG`.
    pub extended_arg: u8,
    /// Indexed by opcode number.
    pub ops: [OpInfo; 256],
}

impl OpTable {
    /// The table of CPython 3.`minor`, if supported.
    pub fn for_minor(minor: u8) -> Option<&'static OpTable> {
        Some(match minor {
            8 => &py38::TABLE,
            9 => &py39::TABLE,
            10 => &py310::TABLE,
            11 => &py311::TABLE,
            12 => &py312::TABLE,
            13 => &py313::TABLE,
            14 => &py314::TABLE,
            15 => &py315::TABLE,
            _ => return None,
        })
    }

    /// The opcode named `name`, if this version has it.
    pub fn op(&self, name: &str) -> Option<u8> {
        self.ops
            .iter()
            .position(|o| o.name == name)
            .map(|i| i as u8)
    }

    /// The entry of `op`.
    pub fn info(&self, op: u8) -> &OpInfo {
        &self.ops[usize::from(op)]
    }
}

/// Version differences the injector needs, named (rather than `minor` comparisons at each
/// use). Facts measured with each interpreter's `dis`.
impl OpTable {
    /// The `co_names` index an `IMPORT_NAME` argument refers to: from 3.15 the two low bits
    /// are PEP 810 flags (bit 0 lazy, bit 1 eager).
    pub fn import_name_index(&self, arg: u32) -> u32 {
        if self.minor >= 15 { arg >> 2 } else { arg }
    }

    /// The bit of a `RESUME` argument (after a yield) that tells `gen.close()` the yield is
    /// inside an exception handler besides the implicit one: 4 on 3.13 and 3.14, 8 from 3.15.
    /// `None` before 3.13 (3.12 keeps that depth in `YIELD_VALUE`'s argument).
    pub fn resume_except_depth_bit(&self) -> Option<u32> {
        match self.minor {
            0..=12 => None,
            13 | 14 => Some(4),
            _ => Some(8),
        }
    }

    /// Whether `YIELD_VALUE`'s argument counts the enclosing exception handlers (3.12 only).
    pub fn yield_value_counts_handlers(&self) -> bool {
        self.minor == 12
    }

    /// The argument of `LOAD_COMMON_CONSTANT` that loads `None` (3.15+: the compiler loads
    /// `None` that way, not with `LOAD_CONST`); `None` where it cannot (3.14's common
    /// constants hold no `None`, earlier versions have no such instruction). Measured:
    /// `opcode._common_constants.index(None)`.
    pub fn common_constant_none(&self) -> Option<u32> {
        (self.minor >= 15).then_some(7)
    }

    /// Whether a subscript is `BINARY_OP 26` (3.14+) rather than `BINARY_SUBSCR`.
    pub fn subscript_is_binary_op(&self) -> bool {
        self.op("BINARY_SUBSCR").is_none()
    }

    /// Whether PEP 649/749 annotation functions (`__annotate__`) exist (3.14+).
    pub fn has_annotate_functions(&self) -> bool {
        self.minor >= 14
    }

    /// Whether an instruction of this name packs two local slots into its argument
    /// (`LOAD_FAST_LOAD_FAST`, `STORE_FAST_STORE_FAST`, 3.14 `LOAD_FAST_BORROW_LOAD_FAST_BORROW`,
    /// ...: high and low nibble).
    pub fn packs_two_locals(name: &str) -> bool {
        name.matches("FAST").count() == 2
    }
}

/// `BINARY_OP`'s argument for a subscript (`NB_SUBSCR`, 3.14+).
pub const NB_SUBSCR: u32 = 26;

/// The CPython minor version a `.pyc` magic number belongs to, by the ranges of
/// `Lib/importlib/_bootstrap_external.py` (3.8: 3400–3413 ... 3.14: 3600–3627, 3.15 from 3650, 3.16 from 3700), including
/// versions this crate cannot instrument. `None` when the number is not a known CPython 3
/// magic.
pub fn minor_of_magic(magic: u16) -> Option<u8> {
    Some(match magic {
        3000..=3131 => 0,
        3141..=3151 => 1,
        3160..=3180 => 2,
        3190..=3230 => 3,
        3250..=3310 => 4,
        3320..=3351 => 5,
        3360..=3379 => 6,
        3390..=3399 => 7,
        3400..=3419 => 8,
        3420..=3429 => 9,
        3430..=3449 => 10,
        3450..=3499 => 11,
        3500..=3549 => 12,
        3550..=3599 => 13,
        3600..=3649 => 14,
        3650..=3699 => 15,
        3700..=3749 => 16,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_their_versions() {
        let expected = [
            (8, 3413),
            (9, 3425),
            (10, 3439),
            (11, 3495),
            (12, 3531),
            (13, 3571),
            (14, 3627),
            (15, 3666),
        ];
        for (minor, magic) in expected {
            let t = OpTable::for_minor(minor).unwrap();
            assert_eq!(t.minor, minor);
            assert_eq!(t.magic, magic);
            assert_eq!(minor_of_magic(magic), Some(minor));
            let ret = t.op("RETURN_VALUE").unwrap();
            assert!(t.info(ret).has(flags::NO_FALLTHROUGH));
        }
        assert_eq!(minor_of_magic(3700), Some(16));
        assert!(OpTable::for_minor(16).is_none());
        assert!(OpTable::for_minor(7).is_none());
    }

    #[test]
    fn effect_models() {
        assert_eq!(Effect::Linear(1, -1).at(3), Some(-2));
        assert_eq!(Effect::Bits(1, [1, 0, 0, 0, 0, 0, 0, 0]).at(7), Some(2));
        assert_eq!(Effect::Split(0, 1, 1).at(0x102), Some(3));
        assert_eq!(Effect::Table([0; 16]).at(16), None);
        let t = OpTable::for_minor(12).unwrap();
        let lg = t.info(t.op("LOAD_GLOBAL").unwrap());
        assert_eq!(lg.effect.at(5 << 1 | 1), Some(2));
        assert_eq!(lg.cache, 4);
    }
}
