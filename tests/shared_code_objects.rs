//! A `.pyc` whose marshal data shares code objects through back-references (each level's
//! `co_consts` holds the previous level twice, so there are 2^40 paths through 41 objects)
//! is instrumented in time linear in its size: every shared code object is instrumented
//! once and stays shared, and the real interpreter loads the result and runs the hooks.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

/// A CPython 3.8–3.13 interpreter: `python3` when it is one of those, else pyenv's newest.
fn python() -> Option<PathBuf> {
    let supported = |p: &PathBuf| {
        Command::new(p)
            .args([
                "-c",
                "import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 13))",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    let system = PathBuf::from("python3");
    if supported(&system) {
        return Some(system);
    }
    let root = Command::new("pyenv").arg("root").output().ok()?;
    let root = PathBuf::from(String::from_utf8_lossy(&root.stdout).trim());
    (8..=13).rev().find_map(|minor| {
        std::fs::read_dir(root.join("versions"))
            .ok()?
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("3.{minor}."))
            })
            .map(|e| e.path().join("bin/python"))
            .find(supported)
    })
}

/// Module `demo.shared`: `level0` is a function; `levelN`'s `co_consts` holds `level(N-1)`
/// twice; the module keeps `level40` in its `co_consts` and binds `run`, which calls a
/// function made from `level3` (to see its hooks fire).
const MAKE_PYC: &str = r#"
import importlib.util, marshal, sys, types
src = '''
def level0():
    return 0

def run():
    return 1
'''
module = compile(src, "demo/shared.py", "exec")
level = next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == "level0")
for i in range(1, 41):
    level = level.replace(co_name="level%d" % i, co_consts=level.co_consts[:1] + (level, level))
module = module.replace(co_consts=module.co_consts + (level,))
data = marshal.dumps(module)
header = importlib.util.MAGIC_NUMBER + bytes(12)
open(sys.argv[1], "wb").write(header + data)
print(len(data))
"#;

/// Loads the instrumented module, checks the sharing survived (the two `co_consts` of each
/// level are one object, the 41 levels are distinct objects) and calls `run`.
const CHECK: &str = r#"
import sys, types
sys.path.insert(0, sys.argv[1])
import demo.shared as m
code = m.__loader__.get_code("demo.shared")
level = next(c for c in code.co_consts if getattr(c, "co_name", "") == "level40")
seen = set()
while True:
    seen.add(id(level))
    nested = [c for c in level.co_consts if isinstance(c, types.CodeType)]
    if not nested:
        break
    assert len(nested) == 2 and nested[0] is nested[1], level.co_name
    level = nested[0]
assert len(seen) == 41, len(seen)
assert m.run() == 1
print("ok")
"#;

#[test]
fn shared_code_objects_are_instrumented_once() {
    let Some(python) = python() else {
        eprintln!("SKIP: no CPython 3.8-3.13");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pyc = dir.path().join("shared.pyc");
    let made = Command::new(&python)
        .args(["-c", MAKE_PYC, pyc.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let input_size = std::fs::metadata(&pyc).unwrap().len();
    assert!(
        input_size < 8 << 10,
        "the generated .pyc is {input_size} bytes"
    );

    let mut members = demo_members();
    members.push(Member::new("demo/shared.pyc", std::fs::read(&pyc).unwrap()));
    let wheel = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&wheel, &members);
    let config = "[hooks]\nimports = [\"import builtins\"]\nfunction-enter = \"builtins.print('enter', {qualname})\"\n";
    std::fs::write(dir.path().join("equip.toml"), config).unwrap();
    let out = equip(
        dir.path(),
        &[
            "instrument",
            wheel.to_str().unwrap(),
            "-o",
            "out",
            "-c",
            "equip.toml",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let site = dir.path().join("site");
    for (name, _, data) in read_zip(&dir.path().join("out/demo-1.0-py3-none-any.whl")) {
        let path = site.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if name == "demo/shared.pyc" {
            // Shared objects are written once: the output stays the size of the input.
            assert!(
                (data.len() as u64) < 4 * input_size + (8 << 10),
                "instrumented .pyc is {} bytes (input {input_size})",
                data.len()
            );
        }
        std::fs::write(path, data).unwrap();
    }
    let run = Command::new(&python)
        .args(["-c", CHECK, site.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("enter run"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}
