#!/bin/sh
# sass-loop.sh KERNEL [SOURCE]: compiles kernels/cuda/kernels.cu (or SOURCE)
# for sm_90 with a local nvcc (11.8 or later) and prints the opcode counts of
# KERNEL's largest loop (its longest backward branch), as PERF.md quotes them.
# nvcc 11.8's ptxas lacks red.global.v4.f32, hence MK_NO_RED_V4 (scalar
# atomic adds); this is not the device's NVRTC code, only close to it.
# Example: scripts/sass-loop.sh scan_fwd4_128_3_full
set -e
kernel=$1
src=${2:-$(dirname "$0")/../kernels/cuda/kernels.cu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nvcc -cubin -arch=sm_90 -std=c++17 -O3 -DMK_NO_RED_V4 -o "$tmp/k.cubin" "$src"
cuobjdump -sass -fun "$kernel" "$tmp/k.cubin" > "$tmp/k.sass"
python3 - "$tmp/k.sass" <<'PY'
import re, sys
ins = []
for line in open(sys.argv[1]):
    m = re.match(r'\s*/\*([0-9a-f]{4,6})\*/\s+(.*?)\s*(/\*.*)?$', line)
    if m:
        ins.append((int(m.group(1), 16), m.group(2).rstrip(' ;')))
at = {a: k for k, (a, _) in enumerate(ins)}
best = None
for k, (a, text) in enumerate(ins):
    m = re.search(r'BRA (?:\S+, )?0x([0-9a-f]+)', text)
    if m and int(m.group(1), 16) < a and int(m.group(1), 16) in at:
        lo = at[int(m.group(1), 16)]
        if best is None or k - lo > best[1] - best[0]:
            best = (lo, k)
if best is None:
    sys.exit("no loop found")
ops = {}
for _, text in ins[best[0]:best[1] + 1]:
    w = text.split()
    op = (w[1] if w[0].startswith('@') else w[0]).split('.')[0]
    ops[op] = ops.get(op, 0) + 1
print(f"loop {ins[best[0]][0]:#x}..{ins[best[1]][0]:#x}: {best[1] - best[0] + 1} instructions")
print(", ".join(f"{o} {n}" for o, n in sorted(ops.items(), key=lambda x: -x[1])))
PY
