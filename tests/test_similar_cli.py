#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""`cleave index` and `cleave similar` end to end.

- index: new, unchanged, changed and deleted files across re-runs (the summary
  line and the records actually present), unreadable files reported and skipped
  (the rest is indexed, exit 0), an empty library (a valid empty index), a file
  at -o that is not an index (refused, untouched), an index of another format
  version (rebuilt by `index`, refused with a rebuild hint by `similar`), an
  index of another model (refused by `similar`), usage errors.
- similar: JSON lines parse, scores sorted descending, -k respected, text format,
  a byte copy of a library file ranks first (score 1) for both methods, other
  rates/channel counts of the same sound rank it first, unreadable query.
- with ../shared/data: a small us8k library (folds 1 and 2) queried with fold 3
  clips: same-class precision of the first five results well above chance (a
  sanity check of the whole chain, not the evaluation: the shipped model has seen
  fold 3; models/train/eval_similar.py holds folds out properly).

usage: test_similar_cli.py CLEAVE MODEL OTHER_MODEL SCRATCH_DIR SHARED_DATA_DIR
MODEL is the shipped model `cleave index` finds by default (its folder becomes
CLV_MODEL_DIR); OTHER_MODEL is any other embedding model (the random-weight test
model) for the model-mismatch checks.
Exit 0 pass, 1 fail, 77 skip (no model file).
"""
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import wave

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        print('check failed:', msg, file=sys.stderr)
        failures += 1


def write_wav(path, rate, channels, samples):
    """samples: list of floats (mono) duplicated to `channels`."""
    with wave.open(path, 'wb') as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for s in samples:
            v = struct.pack('<h', int(max(-1.0, min(1.0, s)) * 32767))
            frames += v * channels
        w.writeframes(bytes(frames))


def tone(rate, seconds, f0, kind, seed):
    rnd = random.Random(seed)
    n = int(rate * seconds)
    out = []
    for i in range(n):
        t = i / rate
        if kind == 'sine':
            v = 0.4 * math.sin(2 * math.pi * f0 * t)
        elif kind == 'noise':
            v = 0.3 * (rnd.random() * 2 - 1)
        elif kind == 'clicks':
            v = 0.8 if (i % int(rate / f0)) < 40 else 0.0
        else:  # chirp
            v = 0.4 * math.sin(2 * math.pi * (f0 + 800 * t) * t)
        out.append(v)
    return out


def run(args, timeout=300):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def summary(out):
    """Parses 'indexed N files into X: A new or changed, U unchanged, R removed, S skipped'."""
    import re
    m = re.search(r'indexed (\d+) files? into .*: (\d+) new or changed, (\d+) unchanged, '
                  r'(\d+) removed, (\d+) skipped', out)
    return tuple(int(g) for g in m.groups()) if m else (-1,) * 5


def json_lines(out, what):
    objs = []
    for i, ln in enumerate(out.strip().split('\n') if out.strip() else []):
        try:
            o = json.loads(ln)
        except ValueError:
            check(False, '%s: line %d is not JSON: %r' % (what, i + 1, ln[:80]))
            return []
        check(isinstance(o, dict) and set(o) == {'path', 'score'} and isinstance(o['path'], str)
              and isinstance(o['score'], (int, float)), '%s: bad object %r' % (what, o))
        objs.append(o)
    return objs


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 1
    cleave, model, other, scratch, shared = sys.argv[1:6]
    if not os.path.exists(model):
        print('skip: no model file', model)
        return 77
    shutil.rmtree(scratch, ignore_errors=True)
    lib = os.path.join(scratch, 'lib')
    os.makedirs(os.path.join(lib, 'sub', 'deeper'))
    os.makedirs(os.path.join(lib, '.hidden'))
    os.environ['CLEAVE_NO_PROGRESS'] = '1'
    os.environ['CLV_MODEL_DIR'] = os.path.dirname(os.path.abspath(model))
    kinds = [('sine', 300), ('sine', 2500), ('noise', 0), ('clicks', 4), ('chirp', 200),
             ('clicks', 15)]
    files = []
    for i, (k, f0) in enumerate(kinds):
        sub = '' if i < 3 else os.path.join('sub', 'deeper' if i == 5 else '')
        p = os.path.join(lib, sub, '%s_%d.wav' % (k, f0))
        write_wav(p, 16000, 1, tone(16000, 1.5 + 0.3 * i, f0, k, i))
        files.append(os.path.realpath(p))
    write_wav(os.path.join(lib, '.hidden', 'x.wav'), 16000, 1, tone(16000, 0.5, 440, 'sine', 9))
    with open(os.path.join(lib, 'readme.txt'), 'w') as fh:
        fh.write('not audio\n')
    idx = os.path.join(scratch, 'lib.idx')

    def index(*extra):
        rc, out, err = run([cleave, 'index', lib, '-o', idx] + list(extra))
        return rc, out, err

    # --- first index --------------------------------------------------------
    rc, out, err = index()
    check(rc == 0, 'index: rc %d, %s' % (rc, err))
    check(summary(out) == (6, 6, 0, 0, 0), 'first index summary: %r' % out)
    check(os.path.exists(idx), 'no index written')
    check(not [f for f in os.listdir(scratch) if '.tmp.' in f], 'temporary files left behind')

    def similar(query, *extra, index_file=None):
        return run([cleave, 'similar', query, '--index', index_file or idx] + list(extra))

    # --- similar: format, order, k, own copy first ---------------------------
    q = os.path.join(scratch, 'query_copy.wav')
    shutil.copyfile(files[4], q)
    for method in ('embed', 'dtw'):
        rc, out, err = similar(q, '--json', '--method', method)
        check(rc == 0, 'similar %s: rc %d %s' % (method, rc, err))
        objs = json_lines(out, 'similar --json %s' % method)
        check(len(objs) == 6, '%s: %d results for 6 files (default k 20)' % (method, len(objs)))
        scores = [o['score'] for o in objs]
        check(scores == sorted(scores, reverse=True), '%s: scores not descending: %r'
              % (method, scores))
        check(objs and objs[0]['path'] == files[4], '%s: own copy not first: %r'
              % (method, objs[:2]))
        if method == 'embed':
            check(objs and abs(objs[0]['score'] - 1.0) < 1e-4, 'copy score %r' % objs[:1])
            check(all(-1.0001 <= s <= 1.0001 for s in scores), 'cosine out of range')
        else:
            check(objs and abs(objs[0]['score']) < 0.05, 'dtw copy score %r' % objs[:1])
        check(set(o['path'] for o in objs) == set(files), '%s: paths %r' % (method, objs))
    rc, out, err = similar(q, '-k', '3', '--json')
    check(rc == 0 and len(json_lines(out, '-k 3')) == 3, '-k 3: %r' % out)
    rc, out, err = similar(q, '-k', '2')
    lines = out.strip().split('\n')
    check(rc == 0 and len(lines) == 2, 'text -k 2: %r' % out)
    if lines and lines[0]:
        score, _, path = lines[0].partition('  ')
        check(path == files[4] and abs(float(score) - 1.0) < 1e-3, 'text line %r' % lines[0])
    # the same sound at 44.1 kHz stereo still finds its original first
    q3 = os.path.join(scratch, 'query_sine_44k.wav')
    write_wav(q3, 44100, 2, tone(44100, 1.5 + 0.3 * 1, 2500, 'sine', 1))
    rc, out, err = similar(q3, '--json', '-k', '1')
    objs = json_lines(out, '44.1 kHz query')
    check(rc == 0 and objs and objs[0]['path'] == files[1], '44.1 kHz stereo sine: %r %s'
          % (objs, err))

    # --- progress bar: drawn on a terminal only ----------------------------------
    import pty
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop('CLEAVE_NO_PROGRESS', None)
    pidx = os.path.join(scratch, 'progress.idx')
    p = subprocess.run([cleave, 'index', lib, '-o', pidx], stdout=subprocess.PIPE,
                       stderr=slave, env=env, timeout=300)
    os.close(slave)
    seen = b''
    try:
        while True:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    check(p.returncode == 0 and b'indexing [' in seen and b'6/6' in seen,
          'no progress bar on a terminal: %r' % seen[-200:])
    p = subprocess.run([cleave, 'index', lib, '-o', pidx + '2'], capture_output=True, env=env,
                       timeout=300)
    check(p.returncode == 0 and b'indexing [' not in p.stderr,
          'progress bar drawn on a pipe: %r' % p.stderr[-200:])

    # --- re-running: unchanged, new, changed, deleted ----------------------------
    rc, out, err = index()
    check(rc == 0 and summary(out) == (6, 0, 6, 0, 0), 'unchanged re-run: %r %s' % (out, err))
    newf = os.path.join(lib, 'sub', 'new_sine.wav')
    write_wav(newf, 22050, 1, tone(22050, 1.0, 700, 'sine', 7))
    time.sleep(0.01)
    write_wav(files[0], 16000, 1, tone(16000, 2.0, 5000, 'sine', 0))  # changed content
    os.remove(files[3])
    rc, out, err = index()
    check(rc == 0 and summary(out) == (6, 2, 4, 1, 0), 'update summary: %r %s' % (out, err))
    rc, out, err = similar(newf, '--json', '-k', '100')
    objs = json_lines(out, 'after update')
    paths = [o['path'] for o in objs]
    check(files[3] not in paths, 'deleted file still in the index')
    check(objs and objs[0]['path'] == os.path.realpath(newf), 'new file not found first: %r'
          % objs[:1])
    # the changed file has the embedding of its new content
    rc, out, err = similar(files[0], '--json', '-k', '1')
    objs = json_lines(out, 'changed file')
    check(objs and objs[0]['path'] == files[0] and abs(objs[0]['score'] - 1) < 1e-4,
          'changed file not re-embedded: %r' % objs)

    # --- unreadable files are reported and skipped --------------------------------
    with open(os.path.join(lib, 'garbage.wav'), 'wb') as fh:
        fh.write(b'RIFF\x10\x00\x00\x00WAVEjunkjunkjunk')
    open(os.path.join(lib, 'empty.ogg'), 'wb').close()
    with open(os.path.join(lib, 'text.flac'), 'w') as fh:
        fh.write('hello')
    write_wav(os.path.join(lib, 'fast.wav'), 4000, 1, tone(4000, 1.0, 100, 'sine', 3))  # 4 kHz
    rc, out, err = index()
    check(rc == 0, 'index with bad files: rc %d' % rc)
    check(summary(out) == (6, 0, 6, 0, 4), 'bad files summary: %r' % out)
    for name in ('garbage.wav', 'empty.ogg', 'text.flac', 'fast.wav'):
        lines = [ln for ln in err.split('\n') if name in ln]
        check(len(lines) == 1 and 'skipped' in lines[0] and lines[0].startswith('cleave: warning:'),
              '%s: expected one warning line, got %r' % (name, lines))
    rc, out, err = similar(os.path.join(lib, 'garbage.wav'))
    check(rc == 1 and err.count('\n') == 1 and 'garbage.wav' in err,
          'unreadable query: rc %d %r' % (rc, err))

    # --- empty library ------------------------------------------------------------
    empty = os.path.join(scratch, 'empty_lib')
    os.makedirs(empty)
    eidx = os.path.join(scratch, 'empty.idx')
    rc, out, err = run([cleave, 'index', empty, '-o', eidx])
    check(rc == 0 and 'no audio files' in err and summary(out) == (0, 0, 0, 0, 0),
          'empty library: rc %d %r %r' % (rc, out, err))
    rc, out, err = similar(q, '--json', index_file=eidx)
    check(rc == 0 and out == '' and 'no files' in err, 'similar on an empty index: %d %r %r'
          % (rc, out, err))

    # --- not an index / other version / other model -------------------------------
    notidx = os.path.join(scratch, 'song.wav')
    write_wav(notidx, 16000, 1, tone(16000, 0.2, 440, 'sine', 1))
    before = open(notidx, 'rb').read()
    rc, out, err = run([cleave, 'index', lib, '-o', notidx])
    check(rc == 1 and 'not a cleave index' in err, 'overwrite of a non-index: %d %r' % (rc, err))
    check(open(notidx, 'rb').read() == before, 'a non-index file was modified')
    rc, out, err = similar(q, index_file=notidx)
    check(rc == 1 and 'not a cleave index' in err, 'similar on a WAV: %d %r' % (rc, err))

    oldv = os.path.join(scratch, 'old_version.idx')
    data = bytearray(open(idx, 'rb').read())
    data[8:12] = struct.pack('<I', 99)
    open(oldv, 'wb').write(data)
    rc, out, err = similar(q, index_file=oldv)
    check(rc == 1 and 'version 99' in err and 'cleave index' in err,
          'other-version index: %d %r' % (rc, err))
    rc, out, err = run([cleave, 'index', lib, '-o', oldv])
    check(rc == 0 and 'version 99' in err and summary(out)[1] == 6,
          'rebuild of an other-version index: %d %r %r' % (rc, out, err))
    rc, out, err = similar(q, index_file=oldv)
    check(rc == 0, 'rebuilt index unusable: %r' % err)

    damaged = os.path.join(scratch, 'damaged.idx')
    data = bytearray(open(idx, 'rb').read())
    emb_off = struct.unpack('<Q', bytes(data[64:72]))[0]
    data[emb_off + 10] ^= 0xff  # in the embeddings: every query reads them
    open(damaged, 'wb').write(data)
    rc, out, err = similar(q, index_file=damaged)
    check(rc == 1 and 'damaged' in err, 'damaged index: %d %r' % (rc, err))

    oidx = os.path.join(scratch, 'other_model.idx')
    rc, out, err = run([cleave, 'index', lib, '-o', oidx, '--model', other])
    check(rc == 0, 'index with another model: %r' % err)
    rc, out, err = similar(q, '--json', '-k', '1', index_file=oidx)
    objs = json_lines(out, 'other-model index')
    check(rc == 0 and objs and objs[0]['path'] == files[4], 'other-model index: %r %s'
          % (objs, err))
    rc, out, err = similar(q, '--model', model, index_file=oidx)
    check(rc == 1 and 'another model' in err, 'model mismatch: %d %r' % (rc, err))
    rc, out, err = run([cleave, 'index', lib, '-o', oidx])
    check(rc == 0 and 'another model' in err and summary(out)[1] == 6,
          'switching models re-embeds: %r %r' % (out, err))

    # --- usage errors -----------------------------------------------------------
    for args in (['index', lib], ['index', '-o', idx], ['index', lib, '-o', idx, '--bogus'],
                 ['similar', q], ['similar', '--index', idx], ['similar', q, '--index', idx, '-k', '0'],
                 ['similar', q, '--index', idx, '--method', 'magic'],
                 ['similar', q, '--index', idx, '--band', '2']):
        rc, out, err = run([cleave] + args)
        check(rc == 2 and err.count('\n') == 1, '%r: rc %d %r' % (args, rc, err))
    rc, out, err = run([cleave, 'index', os.path.join(scratch, 'nope'), '-o', idx])
    check(rc == 1, 'missing library dir: rc %d' % rc)
    rc, out, err = run([cleave, 'index', files[1], '-o', idx])
    check(rc == 1 and 'not a directory' in err, 'library is a file: %r' % err)
    for cmd in ('index', 'similar'):
        rc, out, err = run([cleave, cmd, '--help'])
        check(rc == 0 and 'Usage: cleave ' + cmd in out, '%s --help' % cmd)

    # --- real recordings -------------------------------------------------------------
    us8k = os.path.join(shared, 'us8k')
    if os.path.isdir(us8k):
        real_lib = os.path.join(scratch, 'us8k_lib')
        os.makedirs(real_lib)
        rnd = random.Random(5)
        classes = (1, 3, 6, 8)  # car_horn, dog_bark, gun_shot, siren: distinct sounds
        for fold in (1, 2):
            d = os.path.join(us8k, 'fold%d' % fold)
            for c in classes:
                names = sorted(n for n in os.listdir(d) if n.split('-')[1] == str(c))
                for n in rnd.sample(names, min(10, len(names))):
                    os.symlink(os.path.join(d, n), os.path.join(real_lib, n))
        ridx = os.path.join(scratch, 'us8k.idx')
        rc, out, err = run([cleave, 'index', real_lib, '-o', ridx])
        check(rc == 0, 'us8k index: %r' % err)
        d3 = os.path.join(us8k, 'fold3')
        prec = []
        for c in classes:
            names = sorted(n for n in os.listdir(d3) if n.split('-')[1] == str(c))
            for n in rnd.sample(names, min(5, len(names))):
                rc, out, err = similar(os.path.join(d3, n), '--json', '-k', '5', index_file=ridx)
                objs = json_lines(out, 'us8k query')
                hits = [os.path.basename(o['path']).split('-')[1] == str(c) for o in objs]
                prec.append(sum(hits) / max(len(hits), 1))
        p = sum(prec) / max(len(prec), 1)
        print('us8k sanity: precision@5 %.2f over %d held-out queries (chance 0.25)'
              % (p, len(prec)))
        check(p > 0.5, 'us8k precision@5 %.2f is not well above chance (0.25)' % p)
    else:
        print('shared data absent: us8k sanity check skipped')

    if failures:
        print('%d check(s) failed' % failures, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
