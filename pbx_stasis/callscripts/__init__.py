"""Call scripts: what an agent says on a call of a queue or an IVR path (opening, main points,
objections with replies, closing), filled with the contact's, the call's and the IVR's values."""
