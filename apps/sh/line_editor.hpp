// The shell's line editor: turns the bytes typed on a serial terminal into
// lines, echoing and redrawing as it goes. Pure logic (no system calls): it
// writes its echo to a FormatSink, so the host tests drive it byte by byte.
//
// Keys: printable characters insert at the cursor; Backspace (0x7F or 0x08)
// and Delete (ESC [ 3 ~) erase; Left/Right (ESC [ D / ESC [ C) move; Home/End
// (ESC [ H / ESC [ F, ESC [ 1 ~ / ESC [ 4 ~, ESC O H / ESC O F) jump; Up/Down
// (ESC [ A / ESC [ B) walk the history of the last 16 lines; Ctrl-U kills the
// line; Ctrl-C cancels it; Enter is CR, LF or CR LF (one Enter). Any other
// control character or escape sequence is swallowed whole without effect.
// Works the same whether the bytes come one at a time or in one burst.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/format.hpp"

namespace sh {

class LineEditor {
public:
    static constexpr size_t max_line = 126;     // characters in a line
    static constexpr size_t history_size = 16;  // lines remembered

    enum class Event {
        none,      // keep feeding
        line,      // Enter: line() holds the line (already echoed, plus a newline)
        cancelled, // Ctrl-C: the line was dropped ("^C" and a newline echoed)
    };

    explicit LineEditor(tern::FormatSink& echo) : m_echo(echo) {}
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    Event feed(char byte);

    // The finished line, NUL-terminated; valid after Event::line until the
    // next feed().
    const char* line() const { return m_done; }

    // What is being edited now (for tests): text and cursor position.
    const char* text() const { return m_text; }
    size_t length() const { return m_length; }
    size_t cursor() const { return m_cursor; }
    size_t history_count() const { return m_history_count; }

private:
    enum class Escape { none, escape, csi, ss3 };

    Event enter();
    void handle_csi(char final);
    void insert(char c);
    void erase_before_cursor();
    void erase_at_cursor();
    void move_left(size_t n);
    void move_right(size_t n);
    void replace_line(const char* text, size_t length);
    void redraw_from_cursor(size_t erased);
    void history_add();
    void history_up();
    void history_down();
    const char* history_entry(size_t age) const; // 0: newest
    void write(const char* text, size_t length) { m_echo.write(text, length); }
    void write(const char* text);

    tern::FormatSink& m_echo;
    char m_text[max_line + 1] = {};
    size_t m_length = 0;
    size_t m_cursor = 0;
    char m_done[max_line + 1] = {};

    Escape m_escape = Escape::none;
    char m_csi_param[8] = {};
    size_t m_csi_param_length = 0;
    bool m_after_cr = false; // the last byte was CR: a following LF is the same Enter

    char m_history[history_size][max_line + 1] = {};
    size_t m_history_count = 0; // entries in use (up to history_size)
    size_t m_history_next = 0;  // ring index of the next entry to write
    size_t m_browse = 0;        // 0: editing a new line; k: showing the k-th newest entry
    char m_draft[max_line + 1] = {}; // the new line put aside while browsing
    size_t m_draft_length = 0;
};

} // namespace sh
