#!/usr/bin/env python3
# nvmock: tests for scripts/suites: the source scan, the manifest, the plan, and the check of a
# run's results that must name every suite or case that went missing.
import importlib.machinery
import importlib.util
import os
import shutil
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
_path = os.path.join(ROOT, 'scripts', 'suites')
_loader = importlib.machinery.SourceFileLoader('suites', _path)
_spec = importlib.util.spec_from_loader('suites', _loader)
su = importlib.util.module_from_spec(_spec)
_loader.exec_module(su)

MANIFEST = """
module shim   mock/shim        um,x86_64 shim     boot stays
module drv    tools-testing/drv um,x86_64 relinked boot wraps=__wrap_ioremap
module rmod   src/modules/rmod um,x86_64 rust     boot params=nvme=1
module x86mod src/modules/x86mod x86_64  rust     nvdimm
cfg CONFIG_X86 x86_64
suite nvmock_alpha rmod  um,x86_64
suite nvmock_beta  rmod  um         x86_64: arch-neutral, UML runs it
suite nvmock_gamma rmod  x86_64
suite nvmock_delta x86mod x86_64
area smoke um,x86_64
area deep  um   x86_64: slow under TCG
"""

ALPHA = '''
//! a suite { with braces in a comment
#[kernel::macros::kunit_tests(nvmock_alpha)]
mod tests {
    use super::*;
    const S: &str = "}";
    fn helper() -> char { '}' }
    #[test]
    fn one() -> Result { Ok(()) }
    #[test]
    #[cfg(CONFIG_X86)]
    fn only_on_x86() -> Result { Ok(()) }
    /* #[test] fn commented_out() {} */
    mod nested {
        #[test]
        fn not_a_case() {}
    }
    #[test]
    fn three<'a>() -> Result { let _x: &'a str = "{"; Ok(()) }
}
'''
BETA = '''
#[kernel::macros::kunit_tests(nvmock_beta)]
mod tests {
    #[test]
    fn b1() {}
    #[test]
    fn b2() {}
}
'''
GAMMA = '''
#[kernel::macros::kunit_tests(nvmock_gamma)]
mod tests {
    #[test]
    fn g1() {}
}
'''
DELTA = '''
#[kernel::macros::kunit_tests(nvmock_delta)]
mod tests {
    #[test]
    fn d1() {}
    #[test]
    fn d2() {}
}
'''
RMOD = '''
mod kunit {
    #[path = "../../kunit/helper.rs"]
    pub(crate) mod helper;
    #[path = "../../kunit/alpha.rs"]
    mod alpha;
    #[path = "../../kunit/beta.rs"]
    mod beta;
    #[cfg(CONFIG_X86)]
    #[path = "../../kunit/gamma.rs"]
    mod gamma;
}
'''
# The other way to spell it: the inline module's own #[path] is the directory.
XMOD = '''
#[path = "../kunit"]
mod kunit {
    #[path = "delta.rs"]
    mod delta;
}
'''


class Tree:
    """A throwaway source tree with the layout scripts/suites reads."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix='nvmock-suites-')
        self.write('config/modules', MANIFEST)
        self.write('src/kunit/alpha.rs', ALPHA)
        self.write('src/kunit/beta.rs', BETA)
        self.write('src/kunit/gamma.rs', GAMMA)
        self.write('src/kunit/delta.rs', DELTA)
        self.write('src/kunit/helper.rs', 'pub(crate) fn wait() {}\n')
        self.write('src/modules/rmod.rs', RMOD)
        self.write('src/modules/x86mod.rs', XMOD)

    def write(self, rel, text):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)

    def read(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return f.read()

    def load(self):
        return su.load(self.root)

    def close(self):
        shutil.rmtree(self.root)


def console(exp, drop_suite=None, drop_case=None, skip=(), fail=()):
    """Console lines a run printing the expected suites would show (minus what is dropped)."""
    lines = ['KTAP version 1', f'1..{len(exp)}']
    n = 0
    for e in exp:
        if e.name == drop_suite:
            continue
        n += 1
        cases = [c for c in e.cases if (e.name, c) != drop_case]
        lines += ['    KTAP version 1', f'    # Subtest: {e.name}', f'    1..{len(cases)}']
        for i, c in enumerate(cases, 1):
            if c in e.skips or (e.name, c) in skip:
                lines.append(f'    ok {i} {c} # SKIP off')
            elif (e.name, c) in fail:
                lines.append(f'    not ok {i} {c}')
            else:
                lines.append(f'    ok {i} {c}')
        lines.append(f'ok {n} {e.name}')
    return lines


class Scan(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.close()

    def test_cases_are_the_top_level_test_fns(self):
        m, s = self.t.load()
        self.assertEqual([c.name for c in s.suites['nvmock_alpha'].cases], ['one', 'only_on_x86', 'three'])
        self.assertEqual(s.suites['nvmock_alpha'].cases[1].cfgs, ['CONFIG_X86'])
        self.assertEqual(s.helpers, ['helper'])
        self.assertEqual(su.check(m, s), [])

    def test_suite_included_under_cfg_exists_only_there(self):
        m, s = self.t.load()
        self.assertEqual(s.suites['nvmock_gamma'].module, 'rmod')
        self.assertEqual(su.built_on(m, s.suites['nvmock_gamma']), ['x86_64'])
        self.assertEqual(su.built_on(m, s.suites['nvmock_alpha']), ['um', 'x86_64'])

    def test_suite_name_must_follow_the_file(self):
        self.t.write('src/kunit/beta.rs', BETA.replace('nvmock_beta', 'beta_tests'))
        with self.assertRaisesRegex(su.Error, r'beta.rs: suite is named beta_tests; .*nvmock_beta'):
            self.t.load()

    def test_a_suite_without_a_manifest_line_is_reported(self):
        self.t.write('src/kunit/eps.rs', GAMMA.replace('gamma', 'eps'))
        self.t.write('src/modules/rmod.rs', RMOD.replace('mod beta;', 'mod beta;\n#[path = "../../kunit/eps.rs"]\nmod eps;'))
        m, s = self.t.load()
        self.assertIn('src/kunit/eps.rs: suite nvmock_eps has no suite line in config/modules', su.check(m, s))

    def test_a_suite_no_module_includes_is_reported(self):
        self.t.write('src/modules/x86mod.rs', 'mod kunit {}\n')
        m, s = self.t.load()
        self.assertTrue(any('nvmock_delta is included by no crate root' in e for e in su.check(m, s)))

    def test_a_suite_not_run_somewhere_needs_a_reason(self):
        self.t.write('config/modules', MANIFEST.replace('x86_64: arch-neutral, UML runs it', ''))
        m, s = self.t.load()
        self.assertTrue(any('nvmock_beta is built for x86_64 but does not run there' in e
                            for e in su.check(m, s)))

    def test_manifest_errors_are_clear(self):
        with self.assertRaisesRegex(su.Error, "arch 'arm64'"):
            su.parse_manifest('module a mock/a arm64 shim boot\n')
        with self.assertRaisesRegex(su.Error, "role 'driver'"):
            su.parse_manifest('module a mock/a um driver boot\n')
        with self.assertRaisesRegex(su.Error, 'say why'):
            su.parse_manifest('area deep um\n')
        with self.assertRaisesRegex(su.Error, 'CONFIG_ACPI has no cfg line'):
            su.cfg_holds('CONFIG_ACPI', 'um', {}, 'x.rs')


class Kbuild(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.t.write('mock/Kbuild', 'obj-m += shim.o\n')
        self.t.write('tools-testing/Kbuild', 'obj-m += drv.o\ndrv-y := drv_relinked.o\n')
        self.t.write('src/modules/Kbuild', 'obj-m += rmod.o\nobj-$(CONFIG_ACPI_NFIT) += x86mod.o\n')

    def tearDown(self):
        self.t.close()

    def test_every_built_module_is_listed(self):
        m, _ = self.t.load()
        self.assertEqual(su.check_kbuild(m, self.t.root), [])
        self.t.write('mock/Kbuild', 'obj-m += shim.o\nobj-m += new-helper.o\n')
        self.assertEqual(su.check_kbuild(m, self.t.root),
                         ['mock/Kbuild builds new_helper.ko, which config/modules does not list'])

    def test_a_listed_module_nothing_builds_is_reported(self):
        self.t.write('tools-testing/Kbuild', '')
        m, _ = self.t.load()
        self.assertEqual(su.check_kbuild(m, self.t.root),
                         ['config/modules lists drv, which no Kbuild file builds'])


class Plan(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.m, self.s = self.t.load()

    def tearDown(self):
        self.t.close()

    def test_expected_per_arch(self):
        um = su.expected(self.m, self.s, 'um', 'full')
        self.assertEqual([e.name for e in um], ['nvmock_alpha', 'nvmock_beta'])
        self.assertEqual(um[0].skips, {'only_on_x86': '#[cfg(CONFIG_X86)] is not set on um'})
        x86 = su.expected(self.m, self.s, 'x86_64', 'full')
        self.assertEqual([e.name for e in x86], ['nvmock_alpha', 'nvmock_gamma', 'nvmock_delta'])
        self.assertEqual(x86[0].skips, {})
        self.assertEqual(su.expected(self.m, self.s, 'x86_64', 'quick'), [])

    def test_plan_filters_a_module_that_runs_some_of_its_suites(self):
        self.assertEqual(su.plan(self.m, self.s, 'um', 'full'), [
            'shim boot shim 0 * - no', 'drv boot relinked 0 * - yes', 'rmod boot rust 2 * nvme=1 yes'])
        self.assertEqual(su.plan(self.m, self.s, 'x86_64', 'full')[2:], [
            'rmod boot rust 3 nvmock_alpha,nvmock_gamma nvme=1 yes', 'x86mod nvdimm rust 1 * - yes'])
        # quick: no module parameters (no userspace checks), the boot group only.
        self.assertEqual(su.plan(self.m, self.s, 'um', 'quick')[2], 'rmod boot rust 2 * - yes')


class Verify(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.m, self.s = self.t.load()
        self.um = su.expected(self.m, self.s, 'um', 'full')

    def tearDown(self):
        self.t.close()

    def verify(self, lines):
        return su.verify(self.um, su.results(lines), 'um')

    def test_a_complete_run_passes(self):
        self.assertEqual(self.verify(console(self.um)), [])

    def test_a_missing_suite_is_named(self):
        errs = self.verify(console(self.um, drop_suite='nvmock_beta'))
        self.assertEqual(errs, ['suite nvmock_beta (rmod.ko, 2 cases) did not run on um'])

    def test_a_missing_case_is_named(self):
        errs = self.verify(console(self.um, drop_case=('nvmock_alpha', 'three')))
        self.assertEqual(errs, ['suite nvmock_alpha on um reported 2 of 3 cases; missing: three'])

    def test_an_undeclared_skip_is_named(self):
        errs = self.verify(console(self.um, skip=[('nvmock_beta', 'b2')]))
        self.assertEqual(errs, ['suite nvmock_beta on um: case b2 skipped without a declared reason'])

    def test_a_failed_case_is_named(self):
        errs = self.verify(console(self.um, fail=[('nvmock_beta', 'b1')]))
        self.assertEqual(errs, ['suite nvmock_beta on um: case b1 failed'])

    def test_a_case_that_should_be_cfgd_out_but_ran_is_named(self):
        lines = [l.replace('only_on_x86 # SKIP off', 'only_on_x86') for l in console(self.um)]
        errs = self.verify(lines)
        self.assertEqual(len(errs), 1)
        self.assertIn('case only_on_x86 ran, but #[cfg(CONFIG_X86)] is not set on um', errs[0])

    def test_an_unplanned_nvmock_suite_is_named(self):
        lines = console(self.um) + ['    # Subtest: nvmock_stray', '    ok 1 x', 'ok 3 nvmock_stray']
        self.assertEqual(self.verify(lines), ['suite nvmock_stray ran on um but the plan does not have it '
                                              '(config/modules, src/kunit)'])

    def test_timestamps_and_kernel_noise_between_lines(self):
        lines = []
        for i, l in enumerate(console(self.um)):
            lines += [f'[   {i}.000000] {l}', f'[   {i}.500000] nvme nvme0: probed']
        lines = [su.TS.sub('', l) for l in lines]
        self.assertEqual(self.verify(lines), [])


class SourceLoses(unittest.TestCase):
    """Deleting a suite or a case from the source fails against config/kunit-cases, naming it."""

    def setUp(self):
        self.t = Tree()
        m, s = self.t.load()
        self.t.write('config/kunit-cases', su.lock_text(s))

    def tearDown(self):
        self.t.close()

    def lock_check(self):
        m, s = self.t.load()
        return su.check_lock(su.parse_lock(self.t.read('config/kunit-cases')), s)

    def test_unchanged_source_passes(self):
        self.assertEqual(self.lock_check(), ([], []))

    def test_a_deleted_case_is_named(self):
        self.t.write('src/kunit/beta.rs', BETA.replace('    #[test]\n    fn b2() {}\n', ''))
        errs, _ = self.lock_check()
        self.assertEqual(len(errs), 1)
        self.assertIn('suite nvmock_beta (src/kunit/beta.rs) lost 1 of its 2 recorded cases: b2', errs[0])

    def test_a_deleted_suite_is_named(self):
        os.remove(os.path.join(self.t.root, 'src/kunit/beta.rs'))
        errs, _ = self.lock_check()
        self.assertEqual(len(errs), 1)
        self.assertIn('suite nvmock_beta (2 cases in config/kunit-cases) is gone', errs[0])
        # The manifest's line for it fails too.
        m, s = self.t.load()
        self.assertTrue(any('suite nvmock_beta is not in src/kunit' in e for e in su.check(m, s)))

    def test_a_new_case_is_only_noted(self):
        self.t.write('src/kunit/beta.rs', BETA.replace('fn b2() {}', 'fn b2() {}\n    #[test]\n    fn b3() {}'))
        errs, notes = self.lock_check()
        self.assertEqual(errs, [])
        self.assertEqual(len(notes), 1)
        self.assertIn('b3', notes[0])


class RealTree(unittest.TestCase):
    """The project's own manifest, lock and source agree, and a run that loses any one suite or
    any one case of what they plan fails naming it."""

    def setUp(self):
        self.m, self.s = su.load(os.path.abspath(ROOT))

    def test_manifest_and_lock_match_the_source(self):
        self.assertEqual(su.check(self.m, self.s), [])
        self.assertEqual(su.check_kbuild(self.m, os.path.abspath(ROOT)), [])
        errs, _ = su.check_lock(su.load_lock(os.path.abspath(ROOT)), self.s)
        self.assertEqual(errs, [])

    def test_every_suite_and_case_is_missed_when_it_vanishes(self):
        for arch in su.ARCHES:
            exp = su.expected(self.m, self.s, arch, 'full')
            self.assertTrue(exp, arch)
            self.assertEqual(su.verify(exp, su.results(console(exp)), arch), [])
            for e in exp:
                errs = su.verify(exp, su.results(console(exp, drop_suite=e.name)), arch)
                self.assertEqual(len(errs), 1)
                self.assertIn(f'suite {e.name} ', errs[0])
                for c in e.cases:
                    errs = su.verify(exp, su.results(console(exp, drop_case=(e.name, c))), arch)
                    self.assertEqual(len(errs), 1, errs)
                    self.assertIn(f'missing: {c}', errs[0])

    def test_suite_files_follow_the_naming_convention(self):
        for name, s in self.s.suites.items():
            stem = os.path.basename(s.file)[:-3]
            self.assertEqual(name, f'nvmock_{stem}')


class Timing(unittest.TestCase):
    def test_phases_and_suites(self):
        lines = ['[    1.000000] Linux version',
                 'nvmock-init: phase start at 2.50',
                 '[    3.000000]     # Subtest: nvmock_a',
                 '[    3.100000]     ok 1 x',
                 '[    4.250000] ok 1 nvmock_a',
                 'nvmock-init: phase modules at 5.00']
        self.assertEqual(su.timing(lines), [('guest', 'start', 2.5), ('guest', 'modules', 2.5),
                                            ('suite', 'nvmock_a', 1.25)])


if __name__ == '__main__':
    unittest.main()
