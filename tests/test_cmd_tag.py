#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""`cleave tag` end to end: --json output (one object per line, per-step t/tags,
last line a summary with every label), text output, bad input and usage errors,
and, when ../shared/data exists, held-out speech and singing are recognised.

usage: test_cmd_tag.py CLEAVE MODEL SCRATCH_DIR SHARED_DATA_DIR
Exit 0 pass, 1 fail (77 is never used: the data checks are skipped inside).
"""
import json
import math
import os
import struct
import subprocess
import sys
import wave

LABELS = ['air_conditioner', 'car_horn', 'children_playing', 'dog_bark', 'drilling',
          'engine_idling', 'gun_shot', 'jackhammer', 'siren', 'street_music',
          'speech', 'singing', 'music']
failures = 0


def check(cond, msg):
    global failures
    if not cond:
        print('check failed:', msg, file=sys.stderr)
        failures += 1


def write_wav(path, rate, channels, samples):
    with wave.open(path, 'wb') as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b''.join(struct.pack('<h', int(max(-1, min(1, s)) * 32767)) for s in samples))


def run(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def parse_json_lines(out, what):
    lines = out.strip().split('\n')
    objs = []
    for i, ln in enumerate(lines):
        try:
            objs.append(json.loads(ln))
        except ValueError:
            check(False, '%s: line %d is not JSON: %r' % (what, i + 1, ln[:80]))
            return []
    return objs


def check_json(objs, what, duration):
    check(len(objs) >= 2, '%s: %d lines' % (what, len(objs)))
    if len(objs) < 2:
        return None
    steps, last = objs[:-1], objs[-1]
    prev = -1.0
    for s in steps:
        check(set(s) == {'t', 'tags'}, '%s: step keys %s' % (what, sorted(s)))
        t = s.get('t')
        check(isinstance(t, (int, float)) and t > prev, '%s: step time %r after %r' % (what, t, prev))
        prev = t if isinstance(t, (int, float)) else prev
        for k, v in s.get('tags', {}).items():
            check(k in LABELS, '%s: unknown label %r' % (what, k))
            check(isinstance(v, (int, float)) and 0.0 <= v <= 1.0, '%s: score %r' % (what, v))
    want = math.floor(duration / 0.5 + 1e-9) + (0 if abs(duration / 0.5 - round(duration / 0.5)) < 1e-6 else 1)
    check(len(steps) == max(1, want), '%s: %d steps for %.2f s, expected %d' % (what, len(steps), duration, want))
    if steps and abs(duration - round(duration / 0.5) * 0.5) > 0.02:
        check(abs(steps[-1]['t'] - math.floor(duration / 0.02) * 0.02) < 0.021,
              '%s: last step at %r for %.3f s' % (what, steps[-1]['t'], duration))
    check(set(last) == {'summary'}, '%s: last line keys %s' % (what, sorted(last)))
    summ = last.get('summary', {})
    check(sorted(summ) == sorted(LABELS), '%s: summary labels %s' % (what, sorted(summ)))
    for k, v in summ.items():
        check(isinstance(v, (int, float)) and 0.0 <= v <= 1.0, '%s: summary %s = %r' % (what, k, v))
    return summ


def main():
    cleave, model, scratch, data = sys.argv[1:5]
    os.makedirs(scratch, exist_ok=True)
    # a 3.3 s stereo 44.1 kHz file: tone then noise bursts
    rate = 44100
    n = int(3.3 * rate)
    seed = 1
    sig = []
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        v = 0.3 * math.sin(2 * math.pi * 440 * i / rate) if i < n // 2 else 0.2 * (seed / 2 ** 30 - 1)
        sig += [v, 0.5 * v]
    wav = os.path.join(scratch, 'tag_in.wav')
    write_wav(wav, rate, 2, sig)
    rc, out, err = run([cleave, 'tag', '--json', '--model', model, wav])
    check(rc == 0, 'json run: exit %d, stderr %r' % (rc, err))
    check_json(parse_json_lines(out, 'json'), 'json', 3.3)
    # the default model is found through CLV_MODEL_DIR
    env = dict(os.environ, CLV_MODEL_DIR=os.path.dirname(model))
    p = subprocess.run([cleave, 'tag', wav], capture_output=True, text=True, env=env, timeout=120)
    check(p.returncode == 0 and 'Summary' in p.stdout and 'speech' in p.stdout,
          'text run: exit %d, %r' % (p.returncode, p.stderr))
    # a file shorter than one frame still gives a step and a full summary
    short = os.path.join(scratch, 'tag_short.wav')
    write_wav(short, 16000, 1, [0.1] * 100)
    rc, out, err = run([cleave, 'tag', '--json', '--model', model, short])
    check(rc == 0, 'short file: exit %d %r' % (rc, err))
    objs = parse_json_lines(out, 'short')
    check(len(objs) == 2 and 'summary' in objs[-1] and len(objs[-1]['summary']) == 13,
          'short file output %r' % out[:200])

    # bad input: exit 1 and one "cleave: ..." line naming the file
    notaudio = os.path.join(scratch, 'tag_not_audio.wav')
    with open(notaudio, 'w') as f:
        f.write('this is not audio\n' * 10)
    badmodel = os.path.join(scratch, 'tag_bad.clvm')
    with open(badmodel, 'wb') as f:
        f.write(b'CLVM' + b'\0' * 40)
    for args, name in (([os.path.join(scratch, 'missing.wav')], 'missing.wav'),
                       ([notaudio], 'tag_not_audio.wav'),
                       (['--model', badmodel, wav], 'tag_bad.clvm'),
                       (['--model', wav, wav], 'tag_in.wav')):
        rc, out, err = run([cleave, 'tag', '--model', model] + args if args[0] != '--model'
                           else [cleave, 'tag'] + args)
        lines = [l for l in err.strip().split('\n') if l]
        check(rc == 1, '%s: exit %d' % (args, rc))
        check(len(lines) >= 1 and lines[0].startswith('cleave') and name in err,
              '%s: stderr %r' % (args, err))
        check(out == '', '%s: stdout not empty: %r' % (args, out[:100]))
    # usage errors: exit 2
    for args in ([], ['--threshold', '5', wav], ['--bogus', wav], [wav, wav], ['--model']):
        rc, out, err = run([cleave, 'tag'] + args)
        check(rc == 2 and err.startswith('cleave'), 'usage %s: exit %d %r' % (args, rc, err))
    rc, out, err = run([cleave, 'tag', '--help'])
    check(rc == 0 and '--json' in out, '--help')

    # real held-out recordings (not trained on), when the data is here
    if os.path.isdir(data):
        for path, label in ((os.path.join(data, 'speech', 'tsp', 'MC18_03.ogg'), 'speech'),
                            (os.path.join(data, 'speech', 'tsp', 'FB12_05.ogg'), 'speech'),
                            (os.path.join(data, 'pjs', 'song', 'pjs090_song.ogg'), 'singing')):
            if not os.path.exists(path):
                continue
            rc, out, err = run([cleave, 'tag', '--json', '--model', model, path])
            objs = parse_json_lines(out, path)
            summ = objs[-1].get('summary', {}) if objs else {}
            top = max(summ, key=summ.get) if summ else None
            check(rc == 0 and top == label, '%s: top label %r, expected %s (%r)' % (path, top, label, summ))
    else:
        print('../shared/data absent: held-out recording checks skipped')
    if failures:
        print('%d check(s) failed' % failures, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
