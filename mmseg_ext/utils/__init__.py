from .env import (adapt_env, end_distributed_process,
                  silence_pkg_resources_warning)

__all__ = [
    'adapt_env', 'end_distributed_process', 'silence_pkg_resources_warning'
]
