"""After `mutmut run`: how many mutants matching the patterns (all if none) were killed,
survived or not tested, per module, and the name of each one not killed (`mutmut show NAME`
for its diff). scripts/mutate.sh calls it."""

import fnmatch
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main(patterns: list[str]) -> None:
    patterns = patterns or ["*"]
    left = []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        mine = {k: v for k, v in codes.items() if any(fnmatch.fnmatch(k, p) for p in patterns)}
        if not mine:
            continue
        counts = Counter(status_by_exit_code[v] for v in mine.values())
        module = meta.relative_to("mutants").as_posix().removesuffix(".meta")
        print(f"{module}: {len(mine)} mutants, " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        left += [f"  {k}: {status_by_exit_code[v]}" for k, v in mine.items() if v != 1]
    print("Not killed:" if left else "Every mutant was killed.", *left, sep="\n")


if __name__ == "__main__":
    main(sys.argv[1:])
