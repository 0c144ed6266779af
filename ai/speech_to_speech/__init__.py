"""Speech-to-speech providers: a model that hears the caller and speaks back itself, bridged to a call
over the Media Streams protocol, with no speech-to-text or text-to-speech of the platform's between."""
