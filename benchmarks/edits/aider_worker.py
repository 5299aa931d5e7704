"""aider's side of the edit benchmark; runs under aider's own virtualenv (never imports agentls).

Usage: python aider_worker.py CASES.json RESULTS.json

Each case is {"path", "old", "new"}; each result is null (aider returned None, or raised)
or [prefix, suffix, middle]: the output is whole[:prefix] + middle + whole[len(whole) - suffix:].
"""

import json
import sys

from aider.coders.editblock_coder import replace_most_similar_chunk


def compact(whole, out):
    if out is None or out == whole:
        return None
    p = 0
    limit = min(len(whole), len(out))
    while p < limit and whole[p] == out[p]:
        p += 1
    s = 0
    while s < limit - p and whole[len(whole) - 1 - s] == out[len(out) - 1 - s]:
        s += 1
    return [p, s, out[p : len(out) - s]]


def main():
    cases = json.load(open(sys.argv[1], encoding="utf-8"))
    texts = {}
    results = []
    for case in cases:
        path = case["path"]
        if path not in texts:
            with open(path, encoding="utf-8", newline="") as f:
                texts[path] = f.read()
        whole = texts[path]
        try:
            out = replace_most_similar_chunk(whole, case["old"], case["new"])
        except Exception as exc:  # a crash leaves the file as it was: a refusal
            results.append({"error": f"{type(exc).__name__}: {exc}"})
            continue
        results.append(compact(whole, out))
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
