#!/usr/bin/env python3
"""Share of CPU samples by category, from `perf script` output of a dwarf call-graph recording:
    perf record -F 997 --call-graph dwarf,16384 -p SERVER_PID -o perf.data -- sleep 6
    perf script -i perf.data > out.script; python3 bench/experiments/perf_categories.py out.script
Each sample goes to the first category (in this order) that one of its frames matches."""
import re, collections, sys
stacks=open(sys.argv[1]).read().split('\n\n')
cats=collections.Counter(); n=0
rules=[
 ('sqlite: re-prepare of expired statements (LIMIT ?)', lambda s: any('sqlite3Reprepare' in x for x in s)),
 ('sqlite: prepare (uncached statements)', lambda s: any('sqlite3LockAndPrepare' in x or 'sqlite3_prepare' in x for x in s)),
 ('sqlite: fsync / WAL write / commit', lambda s: any(k in x for x in s for k in ('fsync','fdatasync','sqlite3WalFrames','walIndexAppend','sqlite3PagerCommitPhaseOne','unixSync'))),
 ('sqlite: busy wait / lock (sleep, fcntl)', lambda s: any(k in x for x in s for k in ('sqliteDefaultBusyCallback','unixSleep','usleep','nanosleep','clock_nanosleep'))),
 ('sqlite: executing statements', lambda s: any(x.startswith('sqlite3') or 'sqlite3_' in x for x in s)),
 ('diesel: building SQL / binding / loading rows', lambda s: any('diesel::' in x for x in s)),
 ('JSON (serde_json)', lambda s: any('serde_json' in x for x in s)),
 ('logging (tracing)', lambda s: any('tracing_subscriber' in x or 'tracing_core' in x or 'Stderr' in x for x in s)),
 ('JWT / hashing (jsonwebtoken, sha2, hmac, argon2)', lambda s: any(k in x for x in s for k in ('jsonwebtoken','sha2::','hmac','argon2','blake2','ring::'))),
 ('gzip (compress)', lambda s: any('flate2' in x or 'miniz' in x for x in s)),
 ('thread hand-off / pool (futex, condvar, yield)', lambda s: any(k in x for x in s for k in ('r2d2','parking_lot','futex','sched_yield','lll_lock','pthread_cond'))),
 ('network I/O syscalls (epoll, send, recv)', lambda s: any(k in x for x in s for k in ('epoll','__send','recv','writev','__libc_write','__libc_read'))),
 ('application code (mch_handbook::, uuid, chrono)', lambda s: any('mch_handbook::' in x for x in s[:6])),
 ('actix-web / tokio framework', lambda s: any(k in x for x in s for k in ('actix','tokio','mio::'))),
]
for s in stacks:
    lines=[l.strip() for l in s.splitlines()[1:] if l.strip()]
    if not lines: continue
    n+=1
    syms=[re.sub(r'^[0-9a-f]+ ','',l).rsplit(' (',1)[0] for l in lines]
    for name,f in rules:
        if f(syms): cats[name]+=1; break
    else: cats['other (kernel scheduling, malloc, …)']+=1
for k,v in cats.most_common(): print(f'{100*v/n:5.1f} %  {k}')
print(n,'samples')
