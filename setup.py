import re
from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def version():
    scope = {}
    with open('mmseg_ext/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Requirements of a pip requirements file, one per line.

    Blank lines, comments (``#`` at the start of a line or after a space)
    and pip options (``-r``, ``--index-url`` ...) are skipped.
    """
    requirements = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = re.sub(r'(^|\s)#.*', '', line).strip()
            if line and not line.startswith('-'):
                requirements.append(line)
    return requirements


if __name__ == '__main__':
    setup(
        name='mmseg_ext',
        version=version(),
        description='Classic encoder-decoder segmentation models (FCN, '
        'DeconvNet, SegNet, DilatedNet, DeepLab-LargeFOV) for MMSegmentation',
        long_description=readme(),
        long_description_content_type='text/markdown',
        packages=find_packages(include=['mmseg_ext', 'mmseg_ext.*']),
        python_requires='>=3.8',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            extra: parse_requirements(f'requirements/{extra}.txt')
            for extra in ('tests', 'optional', 'lint', 'build')
        },
        license='Apache License 2.0',
        zip_safe=False)
