"""Portal forms on a conversation: the contact's name, an agent's note and a text to the contact."""

from django import forms

from conversations.models import Note


class ContactForm(forms.Form):
    name = forms.CharField(max_length=64, required=False, label="Contact name")


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=Note.MAX_LENGTH,
        label="Note",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Only your team sees notes"}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        max_length=1600,  # Twilio's limit for one message body
        label="Text message",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Sent from this conversation's number"}),
    )
