#!/usr/bin/env python3
# nvmock: tests for scripts/ndctl-steps on time-stamped `bash -x` logs of the kind
# scripts/guest/ndctl-suite.sh writes (PS4='+ ${EPOCHREALTIME} ').
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = os.path.join(HERE, '..', '..', 'scripts', 'ndctl-steps')

HEADER = ['==================================== 1/1 ====================================',
          'test:         ndctl:ndctl / t.sh',
          '----------------------------------- output -----------------------------------']
FOOTER = ['----------------------------------- result -----------------------------------',
          'result:       OK', 'duration:     9.00s']


def log(steps):
    """A test log from (depth, seconds, command) triples."""
    lines = list(HEADER)
    for depth, t, cmd in steps:
        lines.append(f'{"+" * depth} {1000 + t:.6f} {cmd}')
        if cmd.startswith('/ndctl/build/ndctl/ndctl disable-region'):
            lines.append('disabled 2 regions')  # output between traced lines
    return '\n'.join(lines + FOOTER) + '\n'


def run(a_steps, b_steps, rows='20', name='t.sh'):
    with tempfile.TemporaryDirectory() as d:
        for sub, steps in (('ndctl-nvmock', a_steps), ('ndctl-nfit_test', b_steps)):
            os.mkdir(os.path.join(d, sub))
            if steps is not None:
                with open(os.path.join(d, sub, 't.sh.log'), 'w') as f:
                    f.write(steps if isinstance(steps, str) else log(steps))
        env = dict(os.environ, NVMOCK_STEPS_A=os.path.join(d, 'ndctl-nvmock'),
                   NVMOCK_STEPS_B=os.path.join(d, 'ndctl-nfit_test'))
        return subprocess.run([STEPS, name, rows], env=env, capture_output=True, text=True)


def row(out, prefix):
    """The numbers of the first row starting with prefix: (n, a, n, b, diff) or (a, b, diff)."""
    for line in out.splitlines():
        if line.startswith(prefix):
            return [float(w.rstrip('s')) for w in line[len(prefix):].split()[-5:]
                    if w.rstrip('s').lstrip('+-').replace('.', '', 1).isdigit()]
    raise AssertionError(f'no row {prefix!r} in:\n{out}')


NVMOCK = [(1, 0.0, 'modprobe nfit_test'),
          (1, 1.0, 'reset'),
          (1, 1.1, '/ndctl/build/ndctl/ndctl disable-region -b nfit_test.0 all'),
          (2, 2.0, '/ndctl/build/ndctl/ndctl create-namespace -b nfit_test.0'),
          (1, 3.5, "json='{'"),
          (1, 3.6, '/ndctl/build/ndctl/ndctl wait-scrub nfit_test.0'),
          (1, 6.6, 'modprobe -r nfit_test'),
          (1, 7.0, 'exit 0')]
NFIT = [(1, 0.0, 'modprobe nfit_test'),
        (1, 1.5, 'reset'),
        (1, 1.6, '/ndctl/build/ndctl/ndctl disable-region -b nfit_test.0 all'),
        (2, 2.5, '/ndctl/build/ndctl/ndctl create-namespace -b nfit_test.0'),
        (1, 4.0, "json='{'"),
        (1, 4.1, '/ndctl/build/ndctl/ndctl wait-scrub nfit_test.0'),
        (1, 6.1, 'modprobe -r nfit_test'),
        (1, 7.0, 'exit 0')]


class Steps(unittest.TestCase):
    def test_each_step_lasts_until_the_next_traced_line(self):
        r = run(NVMOCK, NFIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('t.sh: traced time nvmock 7.0 s, nfit_test 7.0 s', r.stdout)
        # wait-scrub: 3.0 s against 2.0 s, the largest difference, listed first.
        by_cmd = r.stdout.split('the commands that differ most')[1].splitlines()[1]
        self.assertTrue(by_cmd.startswith('/ndctl/build/ndctl/ndctl wait-scrub'), r.stdout)
        self.assertEqual(row(r.stdout, 'ndctl wait-scrub'), [1, 3.0, 1, 2.0, 1.0])

    def test_a_command_substitution_is_charged_to_its_command(self):
        # create-namespace ran inside $(...): its time runs until the assignment is traced.
        r = run(NVMOCK, NFIT)
        self.assertEqual(row(r.stdout, 'ndctl create-namespace'), [1, 1.5, 1, 1.5, 0.0])

    def test_programs_are_summed_over_their_calls(self):
        r = run(NVMOCK, NFIT)
        # modprobe: 1.0 + 0.4 against 1.5 + 0.9.
        self.assertEqual(row(r.stdout, 'modprobe'), [2, 1.4, 2, 2.4, -1.0])

    def test_a_step_only_one_run_has(self):
        extra = NVMOCK[:-1] + [(1, 6.8, 'sleep 1'), (1, 7.0, 'exit 0')]
        r = run(extra, NFIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(row(r.stdout, 'sleep'), [1, 0.2, 0, 0.0, 0.2])

    def test_mktemp_names_are_one_command(self):
        a = NVMOCK[:-1] + [(1, 6.8, 'rm /tmp/tmp.AbC123xyZ9'), (1, 7.0, 'exit 0')]
        b = NFIT[:-1] + [(1, 6.5, 'rm /tmp/tmp.QqQ000aaa1'), (1, 7.0, 'exit 0')]
        r = run(a, b)
        self.assertEqual(row(r.stdout, 'rm /tmp/tmp.*'), [0.2, 0.5, -0.3])

    def test_rows_are_limited(self):
        r = run(NVMOCK, NFIT, rows='2')
        programs = r.stdout.split('by program, the most time first')[1].split('\n\n')[0].splitlines()[1:]
        self.assertEqual(len(programs), 2, r.stdout)

    def test_a_log_without_time_stamps_is_refused(self):
        plain = '\n'.join(HEADER + ['+ modprobe nfit_test', '+ reset'] + FOOTER) + '\n'
        r = run(plain, NFIT)
        self.assertEqual(r.returncode, 2)
        self.assertIn('no time-stamped trace', r.stderr)

    def test_a_missing_log_is_refused(self):
        r = run(NVMOCK, None)
        self.assertEqual(r.returncode, 2)
        self.assertIn('no log of t.sh', r.stderr)

    def test_bad_row_count_is_refused(self):
        r = run(NVMOCK, NFIT, rows='many')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('give a number of rows', r.stderr)


if __name__ == '__main__':
    unittest.main()
