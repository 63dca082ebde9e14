#!/usr/bin/env python3
"""heaptrack's peak bytes by allocation stack, cut around the innermost frame of a file you name.

    python3 benches/heap_stacks.py FOLDED PATTERNS [FRAMES_BEFORE] [ROWS]

FOLDED is `heaptrack_print --flamegraph-cost-type peak -F` output; PATTERNS a comma-separated
list of file names (e.g. `reliable.rs,endpoint.rs`). Each stack holding a frame of one of
them is cut from FRAMES_BEFORE frames above its innermost such frame to three below, and the
peak bytes of identical cuts are summed; the ROWS largest are printed, in MB. Used for
BENCHMARKING.md, "The end of the simulation".
"""
import sys,collections
pat=sys.argv[2].split(',')
g=collections.Counter()
for line in open(sys.argv[1]):
    stack,_,cost=line.rstrip().rpartition(' ')
    cost=int(cost)
    fr=stack.split(';')
    idx=[i for i,f in enumerate(fr) if any(p in f for p in pat)]
    if not idx: continue
    i=idx[-1]
    sel=[f.split('(')[0][-40:]+'('+f.rpartition('(')[2] for f in fr[max(0,i-int(sys.argv[3])):i+4]]
    g[' > '.join(sel)]+=cost
for k,v in g.most_common(int(sys.argv[4]) if len(sys.argv)>4 else 20): print(f"{v/1e6:7.2f} {k}")
