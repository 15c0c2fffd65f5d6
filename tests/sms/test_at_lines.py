"""The AT line reader and URC parser, without a port."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evy.sms.at_lines import (
    LineReader,
    info_fields,
    is_final,
    is_hex,
    parse_ranges,
    parse_storage_lists,
    parse_urc,
    split_fields,
)

TRANSCRIPT = (b'AT+CMGL=4\r\r\n+CMTI: "SM",3\r\n\r\n+CMGL: 1,0,,23\r\n'
              b'07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n'
              b'\r\n\r\n+CMGL: 2,1,"",5\r\n0011000B916407281553F80000AA0A\r\n\r\nOK\r\n')
EXPECTED = ["AT+CMGL=4", '+CMTI: "SM",3', "+CMGL: 1,0,,23",
            "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
            '+CMGL: 2,1,"",5', "0011000B916407281553F80000AA0A", "OK"]


def feed_in_chunks(data: bytes, cuts: list[int]) -> tuple[list[str], LineReader]:
    reader = LineReader()
    lines: list[str] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        lines += reader.feed(data[start:cut])
        start = cut
    return lines, reader


@given(st.lists(st.integers(0, len(TRANSCRIPT)), max_size=40))
def test_partial_reads_give_the_same_lines_wherever_the_stream_is_cut(cuts):
    lines, _ = feed_in_chunks(TRANSCRIPT, cuts)
    assert lines == EXPECTED


@given(st.lists(st.tuples(st.integers(0, len(TRANSCRIPT)),
                          st.binary(min_size=1, max_size=6).map(
                              lambda b: bytes(x for x in b if x < 0x20 or x >= 0x7F).replace(b"\r", b"")
                              .replace(b"\n", b""))), max_size=10))
def test_noise_bytes_anywhere_are_dropped_and_counted(insertions):
    data = bytearray(TRANSCRIPT)
    added = 0
    for position, noise in sorted(insertions, reverse=True):
        data[position:position] = noise
        added += len(noise)
    reader = LineReader()
    assert reader.feed(bytes(data)) == EXPECTED
    assert reader.noise_bytes == added


def test_blank_lines_and_lone_line_ends_give_nothing():
    reader = LineReader()
    assert reader.feed(b"\r\n\r\n\n\r\r   \r\n") == []


def test_unterminated_text_waits_for_its_line_end():
    reader = LineReader()
    assert reader.feed(b"\r\n+CMGS: 1") == []
    assert reader.feed(b"7\r\n") == ["+CMGS: 17"]


def test_the_prompt_is_seen_without_a_line_end_and_taken_once():
    reader = LineReader()
    assert reader.feed(b"\r\n> ") == []
    assert reader.prompt
    assert reader.take_prompt()
    assert not reader.take_prompt()


def test_a_greater_than_sign_inside_a_line_is_no_prompt():
    reader = LineReader()
    reader.feed(b"\r\n> x")
    assert not reader.prompt


def test_indications_are_parsed_with_storage_and_index():
    urc = parse_urc('+CMTI: "SM",12')
    assert (urc.name, urc.storage, urc.index) == ("CMTI", "SM", 12)
    urc = parse_urc('+CDSI: "ME", 3')
    assert (urc.name, urc.storage, urc.index) == ("CDSI", "ME", 3)


def test_pushed_messages_need_their_pdu_line():
    assert parse_urc("+CMT: ,24").needs_pdu
    assert parse_urc("+CDS: 25").needs_pdu
    assert parse_urc("+CMT: ,24").name == "CMT"


def test_boot_and_power_lines_are_recognised():
    assert parse_urc("RDY").name == "RDY"
    assert parse_urc("SMS Ready").name == "READY"
    assert parse_urc("+CPIN: READY").name == "READY"
    assert parse_urc("UNDER-VOLTAGE WARNNING").name == "POWER"


def test_a_line_with_the_running_commands_prefix_is_its_answer_not_a_urc():
    assert parse_urc("+CREG: 0,1", expected_prefix="+CREG:") is None
    assert parse_urc("+CREG: 1").name == "CREG"
    assert parse_urc("+CPIN: SIM PIN", expected_prefix="+CPIN:") is None
    assert parse_urc("+CMGL: 1,0,,23") is None
    assert parse_urc("0791AB") is None


def test_final_results():
    for line in ("OK", "ERROR", "+CMS ERROR: 500", "+CME ERROR: 14", "+CME ERROR: SIM busy", "NO CARRIER"):
        assert is_final(line)
    for line in ("+CMGS: 4", "OK then", '+CMTI: "SM",1', "0A"):
        assert not is_final(line)


def test_helpers_for_fields_ranges_and_hex():
    assert split_fields('1,0,"a,b",23') == ["1", "0", "a,b", "23"]
    assert info_fields('+COPS: 0,0,"Safaricom"', "+COPS:") == ["0", "0", "Safaricom"]
    assert parse_ranges("(0-3),(0-3),(0,2),(0,1),(0,1)") == [{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 2}, {0, 1}, {0, 1}]
    assert parse_storage_lists('("SM","ME"),("SM"),("MT")') == [["SM", "ME"], ["SM"], ["MT"]]
    assert is_hex("0A1b") and not is_hex("0A1") and not is_hex("OK")


def test_a_prompt_that_a_urc_terminates_is_still_a_prompt():
    reader = LineReader()
    assert reader.feed(b'\r\n> \r\n+CMTI: "SM",4\r\n') == ['+CMTI: "SM",4']
    assert reader.take_prompt() and not reader.prompt
