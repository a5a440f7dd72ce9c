from .channels_last import ChannelsLastSegDataPreProcessor

__all__ = ['ChannelsLastSegDataPreProcessor']
