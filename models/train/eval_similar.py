# SPDX-License-Identifier: ISC
"""Evaluates query by example through the C binary (`cleave index`, `cleave similar`).

  /usr/bin/python3 models/train/eval_similar.py --cleave build/host/cleave

Protocol (UrbanSound8K folds in ../shared/data/us8k): for each of the three
rotations the library is two folds and the queries are the clips of the third;
a result is a hit when its class (from the file name) is the query's. The
embedding model of a rotation must not have seen the query fold: it is
models/train/runs/embed_f<library folds>/embed.clvm (train_embed.py on those
folds from a tagger trained on them, exported with export_embed.py), or with
--tagger-only the rotation tagger exported to runs/embed_f<folds>/tagger.clvm (its penultimate
layer). Figures per rotation and pooled over all queries:
  MRR@20     mean of 1 / rank of the first hit among the first 20 (0 if none)
  Recall@K   share of queries with at least one hit among the first K (the
             metric-learning Recall@K), K = 10 and 20
  P@10       share of hits among the first 10 (for reference)
DTW (`--method dtw`) is slow, so it runs on a seeded random subset of queries per
fold (--dtw-queries; all with 0); the embedding is scored on the same subset too,
so the two compare like for like, and on all queries.

Time per query: the library of every shared us8k clip (2148 files) indexed with
the shipped model (models/embed.clvm, or models/tagger.clvm without it); one whole `cleave similar QUERY --index
INDEX -k 20 --json` process (start-up, model and index loading, decoding,
embedding, ranking) over --time-queries queries: median and 90th percentile of
its wall-clock time and of its CPU time (user + system, from wait4; on a shared,
oversubscribed machine the wall clock mostly measures the other jobs, so the load
average is recorded with it); `cleave --version` is timed too (process start-up
alone: dynamic linking of every library the tool uses).

Writes a markdown table to stdout and JSON to --out (docs/results/similar.json).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
DATA = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data', 'us8k'))
CLASSES = ['air_conditioner', 'car_horn', 'children_playing', 'dog_bark', 'drilling',
           'engine_idling', 'gun_shot', 'jackhammer', 'siren', 'street_music']


def cls_of(path):
    return int(os.path.basename(path).split('-')[1])


def clips(fold):
    d = os.path.join(DATA, 'fold%d' % fold)
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith('.ogg'))


def run(args, timeout=600):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError('%s: rc %d: %s' % (' '.join(args[:3]), p.returncode, p.stderr.strip()))
    return p.stdout


def build_index(cleave, files, model, workdir, name):
    lib = os.path.join(workdir, name)
    os.makedirs(lib)
    for f in files:
        os.symlink(f, os.path.join(lib, os.path.basename(f)))
    idx = os.path.join(workdir, name + '.idx')
    t = time.time()
    out = run([cleave, 'index', lib, '-o', idx, '--model', model], timeout=3600)
    return idx, lib, time.time() - t, out.strip()


def query(cleave, q, idx, method):
    out = run([cleave, 'similar', q, '--index', idx, '-k', '20', '--json', '--method', method])
    return [json.loads(ln) for ln in out.strip().split('\n') if ln.strip()]


def timed(args):
    """(wall seconds, CPU seconds user + system) of one child process."""
    t = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise RuntimeError('%s failed' % ' '.join(args[:3]))
    return time.perf_counter() - t, ru.ru_utime + ru.ru_stime


def scores(results):
    """results: list of (query class, [result classes best first])."""
    n = len(results)
    if n == 0:
        return None
    mrr = r10 = r20 = p10 = 0.0
    for c, got in results:
        hits = [g == c for g in got[:20]]
        if any(hits):
            mrr += 1.0 / (hits.index(True) + 1)
        r10 += any(hits[:10])
        r20 += any(hits[:20])
        p10 += sum(hits[:10]) / 10.0
    return {'queries': n, 'mrr20': mrr / n, 'recall10': r10 / n, 'recall20': r20 / n,
            'p10': p10 / n}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cleave', default=os.path.join(ROOT, 'build', 'host', 'cleave'))
    ap.add_argument('--runs', default=os.path.join(HERE, 'runs'))
    ap.add_argument('--tagger-only', action='store_true',
                    help="rotation taggers' penultimate layer instead of the embedding models")
    ap.add_argument('--dtw-queries', type=int, default=150,
                    help='DTW queries per fold (0: all)')
    ap.add_argument('--no-dtw', action='store_true')
    ap.add_argument('--time-queries', type=int, default=40)
    ap.add_argument('--shipped', default=None,
                    help='model for the timing (default: models/embed.clvm if shipped, else '
                         'models/tagger.clvm, as cleave index picks it)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', default=os.path.join(ROOT, 'docs', 'results', 'similar.json'))
    ap.add_argument('--label', default='')
    ap.add_argument('--query-folds', default='1,2,3')
    ap.add_argument('--timing-only', action='store_true',
                    help='keep the retrieval figures already in --out; redo the timing')
    a = ap.parse_args()
    if not os.path.isdir(DATA):
        sys.exit('no us8k data at %s' % DATA)
    if a.shipped is None:
        a.shipped = os.path.join(ROOT, 'models', 'embed.clvm')
        if not os.path.exists(a.shipped):
            a.shipped = os.path.join(ROOT, 'models', 'tagger.clvm')
    rng = random.Random(a.seed)
    folds = {f: clips(f) for f in (1, 2, 3)}
    work = tempfile.mkdtemp(prefix='cleave-eval-similar-')
    per = {}
    pooled = {'embed': [], 'embed_on_dtw_subset': [], 'dtw': []}
    prev = None
    if a.timing_only:
        with open(a.out) as fh:
            prev = json.load(fh)
    for qf in ([] if prev else [int(f) for f in a.query_folds.split(',')]):
        lf = [f for f in (1, 2, 3) if f != qf]
        tag = 'f%d%d' % tuple(lf)
        if a.tagger_only:
            model = os.path.join(a.runs, 'embed_' + tag, 'tagger.clvm')
        else:
            model = os.path.join(a.runs, 'embed_' + tag, 'embed.clvm')
        if not os.path.exists(model):
            sys.exit('missing %s (train and export the rotation model first)' % model)
        lib_files = folds[lf[0]] + folds[lf[1]]
        idx, _, t_index, summary = build_index(a.cleave, lib_files, model, work, 'lib_' + tag)
        print('fold %d queries, library folds %s: %s' % (qf, lf, summary), file=sys.stderr)
        qs = folds[qf]
        sub = qs if a.dtw_queries <= 0 or a.dtw_queries >= len(qs) else \
            sorted(rng.sample(qs, a.dtw_queries))
        sub_set = set(sub)
        res = {'embed': [], 'embed_on_dtw_subset': [], 'dtw': []}
        for i, q in enumerate(qs):
            got = [cls_of(o['path']) for o in query(a.cleave, q, idx, 'embed')]
            res['embed'].append((cls_of(q), got))
            if q in sub_set:
                res['embed_on_dtw_subset'].append((cls_of(q), got))
                if not a.no_dtw:
                    got = [cls_of(o['path']) for o in query(a.cleave, q, idx, 'dtw')]
                    res['dtw'].append((cls_of(q), got))
            if (i + 1) % 100 == 0:
                print('  %d/%d queries' % (i + 1, len(qs)), file=sys.stderr)
        per['fold%d' % qf] = {'library_folds': lf, 'library': len(lib_files), 'model':
                              os.path.relpath(model, ROOT), 'index_seconds': round(t_index, 1),
                              **{k: scores(v) for k, v in res.items()}}
        for k in pooled:
            pooled[k] += res[k]
    result = prev or {'protocol': 'us8k: library = two folds, queries = the third, three rotations; '
                          'hit = same class; Recall@K = a hit among the first K',
              'label': a.label, 'tagger_only': a.tagger_only,
              'options': {'dtw_queries': a.dtw_queries, 'no_dtw': a.no_dtw, 'seed': a.seed,
                          'query_folds': a.query_folds, 'time_queries': a.time_queries},
              'per_fold': per,
              'pooled': {k: scores(v) for k, v in pooled.items()}}

    # time per query over every shared clip, shipped model
    if a.time_queries > 0 and os.path.exists(a.shipped):
        allf = folds[1] + folds[2] + folds[3]
        idx, _, t_index, summary = build_index(a.cleave, allf, a.shipped, work, 'all')
        qs = rng.sample(allf, min(a.time_queries, len(allf)))
        sim = lambda q, m: [a.cleave, 'similar', q, '--index', idx, '-k', '20', '--json',
                            '--method', m]
        te = [timed(sim(q, 'embed')) for q in qs]
        tv = [timed([a.cleave, '--version']) for _ in range(10)]
        td = [] if a.no_dtw else [timed(sim(q, 'dtw')) for q in qs[:5]]
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = None
        ms = lambda xs, i, q: round(1e3 * pct([x[i] for x in xs], q), 1) if xs else None
        result['timing'] = {'library': len(allf), 'model': os.path.relpath(a.shipped, ROOT),
                            'index_seconds': round(t_index, 1), 'index_bytes': os.path.getsize(idx),
                            'queries': len(te),
                            'embed_wall_ms_median': ms(te, 0, 0.5), 'embed_wall_ms_p90': ms(te, 0, 0.9),
                            'embed_cpu_ms_median': ms(te, 1, 0.5), 'embed_cpu_ms_p90': ms(te, 1, 0.9),
                            'startup_wall_ms_median': ms(tv, 0, 0.5),
                            'startup_cpu_ms_median': ms(tv, 1, 0.5),
                            'dtw_wall_ms_median': ms(td, 0, 0.5), 'dtw_cpu_ms_median': ms(td, 1, 0.5),
                            'cpus': os.cpu_count(), 'load_average_1min': load}

    print('\n| method | queries | MRR@20 | Recall@10 | Recall@20 | P@10 |')
    print('|---|---|---|---|---|---|')
    rows = [('embedding, all queries', 'embed'), ('embedding, DTW subset', 'embed_on_dtw_subset'),
            ('DTW (MFCC, band 0.1), DTW subset', 'dtw')]
    for name, k in rows:
        s = result['pooled'].get(k)
        if s:
            print('| %s | %d | %.3f | %.3f | %.3f | %.3f |' % (name, s['queries'], s['mrr20'],
                  s['recall10'], s['recall20'], s['p10']))
    print('\nper query fold (embedding, all queries; DTW subset):')
    for f, d in result['per_fold'].items():
        e, t = d['embed'], d['dtw']
        print('  %s (library %d): embed MRR@20 %.3f R@10 %.3f R@20 %.3f%s' % (
            f, d['library'], e['mrr20'], e['recall10'], e['recall20'],
            '; dtw MRR@20 %.3f R@10 %.3f R@20 %.3f (n %d)' % (t['mrr20'], t['recall10'],
                                                             t['recall20'], t['queries'])
            if t else ''))
    if 'timing' in result:
        t = result['timing']
        print('\ntime per query, library of %d clips (whole `cleave similar` process): CPU '
              'median %.1f ms (p90 %.1f), wall median %.1f ms (p90 %.1f) at load average %s on '
              '%d CPUs; process start-up alone: CPU %.1f ms, wall %.1f ms; DTW: CPU %s ms, wall %s ms'
              % (t['library'], t['embed_cpu_ms_median'], t['embed_cpu_ms_p90'],
                 t['embed_wall_ms_median'], t['embed_wall_ms_p90'],
                 '%.1f' % t['load_average_1min'] if t['load_average_1min'] is not None else '?',
                 t['cpus'], t['startup_cpu_ms_median'], t['startup_wall_ms_median'],
                 t['dtw_cpu_ms_median'], t['dtw_wall_ms_median']))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as fh:
        json.dump(result, fh, indent=1)
    os.replace(tmp, a.out)
    print('\nwrote', a.out)
    subprocess.run(['rm', '-rf', work])


if __name__ == '__main__':
    main()
