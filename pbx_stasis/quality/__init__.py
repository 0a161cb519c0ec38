"""Call quality: Asterisk's RTCP figures of both legs of each connected call (jitter, loss,
round trip, MES), stored with the call."""
