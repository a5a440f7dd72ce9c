from .env import adapt_env

__all__ = ['adapt_env']
