from .checkpoint import register_safe_globals, safe_globals
from .env import adapt_env

register_safe_globals()

__all__ = ['adapt_env', 'register_safe_globals', 'safe_globals']
