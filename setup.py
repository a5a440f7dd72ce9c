from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def version():
    scope = {}
    with open('mmseg_ext/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmseg_ext',
    version=version(),
    description='Classic encoder-decoder segmentation models (FCN, '
    'DeconvNet, SegNet, DilatedNet, DeepLab-LargeFOV) for MMSegmentation',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmseg_ext', 'mmseg_ext.*']),
    python_requires='>=3.8',
    install_requires=[
        'torch>=1.12',
        'mmengine>=0.10,<1.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmsegmentation>=1.2,<1.3',
        'opencv-python',
        'numpy',
    ],
    extras_require={
        'tests': ['pytest', 'onnx', 'onnxruntime'],
        'optional': ['seaborn>=0.12', 'tensorboard>=2.14'],
    },
    license='Apache License 2.0',
    zip_safe=False)
