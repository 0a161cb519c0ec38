"""Asterisk's RTCP variables read as a leg's quality (the text as Asterisk 22 writes it)."""

from __future__ import annotations

from pbx_stasis.quality.core import ALL, ALL_MES, leg_quality

LOSSY = {
    ALL: "ssrc=2319062104;themssrc=2529015669;lp=124;rxjitter=0.002000;rxcount=383;"
         "txjitter=0.002625;txcount=461;rlp=0;rtt=0.012000;rxmes=0.000000;txmes=20.000000",
    ALL_MES: "   minrxmes=020.000000;   maxrxmes=030.000000;   avgrxmes=025.000000;"
             "   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;"
             "   avgtxmes=000.000000;   stdevtxmes=000.000000;",
}


def test_a_leg_reads_its_mes_loss_jitter_and_round_trip() -> None:
    quality = leg_quality(LOSSY)
    assert quality is not None
    assert (quality.mes, quality.min_mes) == (25.0, 20.0)
    assert (quality.lost, quality.received, quality.loss_percent) == (124, 383, 24.46)
    assert (quality.jitter_ms, quality.rtt_ms) == (2.0, 12.0)


def test_before_the_first_rtcp_report_there_is_no_mes_and_without_rtp_nothing() -> None:
    early = leg_quality({ALL: "ssrc=1;lp=0;rxjitter=0.000000;rxcount=206;rtt=0.000000",
                         ALL_MES: "minrxmes=000.000000;avgrxmes=000.000000;"})
    assert early is not None and early.mes is None and early.received == 206
    assert leg_quality({ALL: "", ALL_MES: ""}) is None
    assert leg_quality({}) is None
