# SPDX-License-Identifier: ISC
"""Prints the model card's tables (markdown) from the eval.json files of the
three fold rotations and the shipped model.

  /usr/bin/python3 tag_report.py runs/tag_f23 runs/tag_f13 runs/tag_f12 [runs/tag_all]
"""
import json
import os
import sys

import numpy as np


def main():
    rs = [json.load(open(os.path.join(d, 'eval.json'))) for d in sys.argv[1:]]
    folds = [r for r in rs if r.get('us8k_n')]
    print('| train folds | test fold | clips | clip accuracy | rolling (cleave tag summary) |')
    print('|---|---|---|---|---|')
    for r in folds:
        print('| %s | %d | %d | %.1f %% | %.1f %% |' % (
            '+'.join(str(f) for f in r['train_folds']), r['test_fold'], r['us8k_n'],
            100 * r['us8k_acc']['clip'], 100 * r['us8k_acc']['stream-wmean']))
    if folds:
        c = np.mean([r['us8k_acc']['clip'] for r in folds])
        s = np.mean([r['us8k_acc']['stream-wmean'] for r in folds])
        print('| mean of %d rotations | | | **%.1f %%** | **%.1f %%** |' % (len(folds), 100 * c, 100 * s))
    print()
    print('Per-class accuracy on the held-out fold:')
    print()
    labels = list(folds[0]['us8k_acc_per_class']) if folds else []
    print('| class | ' + ' | '.join('fold %d' % r['test_fold'] for r in folds) + ' |')
    print('|---|' + '---|' * len(folds))
    for l in labels:
        print('| %s | ' % l + ' | '.join('%.0f %%' % (100 * r['us8k_acc_per_class'][l]) for r in folds) + ' |')
    print()
    print('| model | label | detection rate | false alarm rate | positive / negative windows |')
    print('|---|---|---|---|---|')
    for r in rs:
        name = 'folds ' + '+'.join(str(f) for f in r['train_folds'])
        for l, d in r['detection'].items():
            print('| %s | %s | %.1f %% | %.1f %% | %d / %d |' % (
                name, l, 100 * d['detection_rate'], 100 * d['false_alarm_rate'],
                d['windows_pos'], d['windows_neg']))
    print()
    print('| model | label | tagged within 4 s | median delay | 90th percentile |')
    print('|---|---|---|---|---|')
    for r in rs:
        name = 'folds ' + '+'.join(str(f) for f in r['train_folds'])
        for l, d in r['delay'].items():
            f = (lambda v: '-' if v is None else '%.1f s' % v)
            print('| %s | %s | %.0f %% (%d clips) | %s | %s |' % (
                name, l, 100 * d['tagged_within_4s'], d['clips'], f(d['median_s']), f(d['p90_s'])))


if __name__ == '__main__':
    main()
