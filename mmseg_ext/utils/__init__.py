from .env import adapt_env, silence_pkg_resources_warning

__all__ = ['adapt_env', 'silence_pkg_resources_warning']
