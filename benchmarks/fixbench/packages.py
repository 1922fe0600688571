"""The packages of the fix benchmark: real, permissively licensed, pure-Python projects whose sdists ship their
test suites, pinned to a version whose suite passes in the sandbox image (Python 3.11, pytest 7.2, hypothesis)
with nothing else installed. ``pytest_args`` is the suite command; ``-o addopts=`` drops options for plugins the
image lacks (coverage and the like)."""

from __future__ import annotations

from benchmarks.fixbench.cases import Package
from benchmarks.fixbench.sdists import Sdist

PACKAGES: tuple[Package, ...] = (
    Package(Sdist('cachetools', '5.2.0', 'cachetools-5.2.0.tar.gz',
                  '6a94c6402995a99c3970cc7e4884bb60b4a8639938157eeed436098bf9831757'),
            'MIT', ('src/cachetools',), ('-o', 'addopts=', 'tests')),
    Package(Sdist('more-itertools', '9.0.0', 'more-itertools-9.0.0.tar.gz',
                  '5a6257e40878ef0520b1803990e3e22303a41b5714006c32a3fd8304b26ea1ab'),
            'MIT', ('more_itertools',), ('-o', 'addopts=', 'tests')),
    Package(Sdist('toolz', '0.12.0', 'toolz-0.12.0.tar.gz',
                  '88c570861c440ee3f2f6037c4654613228ff40c93a6c25e0eba70d17282c6194'),
            'BSD-3-Clause', ('toolz',), ('-o', 'addopts=', 'toolz/tests')),
    Package(Sdist('semver', '2.13.0', 'semver-2.13.0.tar.gz',
                  'fa0fe2722ee1c3f57eac478820c3a5ae2f624af8264cbdf9000c980ff7f75e3f'),
            'BSD-3-Clause', ('semver.py',), ('-o', 'addopts=', 'test_semver.py', 'test_typeerror-274.py')),
    Package(Sdist('parse', '1.19.0', 'parse-1.19.0.tar.gz',
                  '9ff82852bcb65d139813e2a5197627a94966245c897796760a3a2a8eb66f020b'),
            'MIT', ('parse.py',), ('-o', 'addopts=', 'test_parse.py')),
    Package(Sdist('tabulate', '0.9.0', 'tabulate-0.9.0.tar.gz',
                  '0095b12bf5966de529c0feb1fa08671671b3368eec77d7ef7ab114be2c068b3c'),
            'MIT', ('tabulate',), ('-o', 'addopts=', 'test')),
    Package(Sdist('tomlkit', '0.11.6', 'tomlkit-0.11.6.tar.gz',
                  '71b952e5721688937fb02cf9d354dbcf0785066149d2855e44531ebdd2b65d73'),
            'MIT', ('tomlkit',), ('-o', 'addopts=', 'tests', '--ignore=tests/test_toml_spec_tests.py')),
    Package(Sdist('voluptuous', '0.13.1', 'voluptuous-0.13.1.tar.gz',
                  'e8d31c20601d6773cb14d4c0f42aee29c6821bbd1018039aac7ac5605b489723'),
            'BSD-3-Clause', ('voluptuous',), ('-o', 'addopts=', 'voluptuous/tests/tests.py')),
    Package(Sdist('sqlparse', '0.4.3', 'sqlparse-0.4.3.tar.gz',
                  '69ca804846bb114d2ec380e4360a8a340db83f0ccf3afceeb1404df028f57268'),
            'BSD-3-Clause', ('sqlparse',), ('-o', 'addopts=', 'tests')),
    Package(Sdist('pyflakes', '2.5.0', 'pyflakes-2.5.0.tar.gz',
                  '491feb020dca48ccc562a8c0cbe8df07ee13078df59813b83959cbdada312ea3'),
            'MIT', ('pyflakes',), ('-o', 'addopts=', 'pyflakes/test')),
    Package(Sdist('mistune', '2.0.4', 'mistune-2.0.4.tar.gz',
                  '9ee0a66053e2267aba772c71e06891fa8f1af6d4b01d5e84e267b4570d4d9808'),
            'BSD-3-Clause', ('mistune',), ('-o', 'addopts=', 'tests')),
    Package(Sdist('inflection', '0.5.1', 'inflection-0.5.1.tar.gz',
                  '1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417'),
            'MIT', ('inflection',), ('-o', 'addopts=', 'test_inflection.py')),
)  # fmt: skip
