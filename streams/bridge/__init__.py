"""The media bridge: carries a Media Stream's audio between Asterisk's AudioSocket connections and the
tenant's websocket app, speaking Twilio's Media Streams protocol to the app (`manage.py media_bridge`).

Plain asyncio with no Django or database work per frame: `server` accepts legs and groups them into
streams, `stream` runs one stream, `playout` paces the app's audio, `app_socket` opens the app's
websocket through the destination policy, `protocol` and `audiosocket` are the two wire formats.
"""
