#!/usr/bin/env python3
"""Medians per binary of a bench/ab.sh series: python3 bench/ab_medians.py TAG (reads /tmp/ab/TAG/*/*.json)."""
import json,glob,sys,statistics as st
tag=sys.argv[1]
rows={}
for f in sorted(glob.glob(f'/tmp/ab/{tag}/*/*.json')):
    b=f.split('/')[4].rsplit('-',1)[0]
    for r in json.load(open(f))['runs']:
        for kind in ('produce','consume'):
            for k,v in r.get(kind,{}).items():
                rows.setdefault((kind,k,'msg/s'),{}).setdefault(b,[]).append(v['records_per_s'])
                rows.setdefault((kind,k,'cpu s/GiB'),{}).setdefault(b,[]).append(v['broker_cpu_s_per_gib'])
        for k,v in r.get('latency',{}).items():
            for q in ('p50_ms','p99_ms','p999_ms','max_ms'):
                if q in v: rows.setdefault(('latency',k,q),{}).setdefault(b,[]).append(v[q])
for key,d in rows.items():
    print(key, {b:(round(st.median(v),3), [round(x,2) for x in v]) for b,v in d.items()})
