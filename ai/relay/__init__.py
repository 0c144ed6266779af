"""ConversationRelay: the call side (`verbs`, `sessions`) and the speech relay process (`server`,
`session`), which meet only in `contract`."""
