#!/usr/bin/env python3
# nvmock: tests for scripts/ktap-merge on console excerpts of the kinds the boots produce.
import importlib.machinery
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_path = os.path.join(HERE, '..', '..', 'scripts', 'ktap-merge')
_loader = importlib.machinery.SourceFileLoader('ktap_merge', _path)
_spec = importlib.util.spec_from_loader('ktap_merge', _loader)
km = importlib.util.module_from_spec(_spec)
_loader.exec_module(km)


def suite(name, results):
    lines = ['    KTAP version 1', f'    # Subtest: {name}', f'    1..{len(results)}']
    for n, ok in enumerate(results, 1):
        lines.append(f'    {"ok" if ok else "not ok"} {n} case{n}')
    return lines


def top(lines):
    return [l for l in lines if km.RESULT.match(l)]


class Merge(unittest.TestCase):
    def test_documents_are_renumbered_under_one_plan(self):
        console = (['KTAP version 1', '1..1'] + suite('builtin', [True]) + ['ok 1 builtin',
                   'some driver: probed'] +
                   ['KTAP version 1', '1..2'] + suite('a', [True]) + ['ok 1 a'] +
                   suite('b', [True, False]) + ['not ok 2 b'])
        out = km.merge(console)
        self.assertEqual(out[:2], ['KTAP version 1', '1..3'])
        self.assertEqual(top(out), ['ok 1 builtin', 'ok 2 a', 'not ok 3 b'])
        self.assertIn('    not ok 2 case2', out)
        self.assertNotIn('some driver: probed', out)

    def test_kernel_messages_between_version_and_plan_are_skipped(self):
        # As seen on x86_64: the emulated NVMe controller's probe printed between the
        # module's "KTAP version 1" and its "1..6".
        console = (['KTAP version 1', 'nvme nvme0: pci function 10000:00:00.0', '1..1',
                    'nvme 10000:00:00.0: enabling device (0000 -> 0002)'] +
                   suite('iomap', [True, True]) + ['ok 1 iomap'])
        self.assertEqual(top(km.merge(console)), ['ok 1 iomap'])
        self.assertEqual(km.merge(console)[1], '1..1')

    def test_a_document_cut_short_keeps_what_it_printed(self):
        # The module crashed after its first suite; the next document still counts, and
        # the missing result makes kunit.py report fewer tests than planned elsewhere.
        console = (['KTAP version 1', '1..2'] + suite('first', [True]) + ['ok 1 first'] +
                   ['    KTAP version 1', '    # Subtest: second', '    1..3',
                    'BUG: kernel NULL pointer dereference'] +
                   ['KTAP version 1', '1..1'] + suite('next', [True]) + ['ok 1 next'])
        self.assertEqual(top(km.merge(console)), ['ok 1 first', 'ok 2 next'])

    def test_a_version_line_without_a_plan_is_not_a_document(self):
        console = ['KTAP version 1', 'ok 1 stray', 'KTAP version 1', '1..1'] + \
            suite('real', [True]) + ['ok 1 real']
        self.assertEqual(top(km.merge(console)), ['ok 1 real'])

    def test_nothing_gives_an_empty_plan(self):
        self.assertEqual(km.merge(['Linux version 7.3', 'init: done']),
                         ['KTAP version 1', '1..0'])

    def test_a_lost_suite_keeps_the_planned_count(self):
        # Two suites planned, one printed: the plan stays 2, so kunit.py parse reports the
        # missing one instead of accepting a shorter plan.
        console = ['KTAP version 1', '1..1'] + suite('a', [True]) + ['ok 1 a']
        self.assertEqual(km.merge(console, plan=2)[:2], ['KTAP version 1', '1..2'])
        self.assertEqual(km.merge(console)[:2], ['KTAP version 1', '1..1'])

    def test_builtin_suites_are_added_to_the_plan(self):
        # The kernel's own suite at boot plus one of two planned nvmock suites: 1 + 2.
        console = (['KTAP version 1', '1..1'] + suite('rust_kernel_fmt', [True]) + ['ok 1 rust_kernel_fmt'] +
                   ['KTAP version 1', '1..1'] + suite('nvmock_a', [True]) + ['ok 1 nvmock_a'])
        self.assertEqual(km.merge(console, plan=2, prefix='nvmock_')[1], '1..3')

    def test_more_results_than_planned_raise_the_plan(self):
        console = ['KTAP version 1', '1..2'] + suite('a', [True]) + ['ok 1 a'] + \
            suite('b', [True]) + ['ok 2 b']
        self.assertEqual(km.merge(console, plan=1)[1], '1..2')


if __name__ == '__main__':
    unittest.main()
