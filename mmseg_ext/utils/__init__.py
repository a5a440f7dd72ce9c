from .env import adapt_env, close_process_group, silence_pkg_resources_warning

__all__ = ['adapt_env', 'close_process_group', 'silence_pkg_resources_warning']
