"""Speech for ConversationRelay and the built-in agents: voice activity, speech-to-text, text-to-speech."""
