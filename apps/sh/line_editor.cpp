#include "line_editor.hpp"

namespace sh {
namespace {

constexpr char ctrl_c = 0x03;
constexpr char ctrl_h = 0x08; // backspace on some terminals
constexpr char ctrl_u = 0x15;
constexpr char escape = 0x1B;
constexpr char del = 0x7F;    // backspace on most terminals

bool is_printable(char c) { return c >= 0x20 && c < 0x7F; }

} // namespace

void LineEditor::write(const char* text)
{
    size_t n = 0;
    while (text[n] != '\0')
        ++n;
    write(text, n);
}

LineEditor::Event LineEditor::feed(char c)
{
    const bool after_cr = m_after_cr; // CR LF is one Enter
    m_after_cr = false;
    // Inside an escape sequence: collect it, act on it once complete. A
    // control character cuts a sequence short and then counts as itself.
    switch (m_escape) {
    case Escape::none: break;
    case Escape::escape:
        if (c == '[') {
            m_escape = Escape::csi;
            m_csi_param_length = 0;
            return Event::none;
        }
        if (c == 'O') {
            m_escape = Escape::ss3;
            return Event::none;
        }
        m_escape = Escape::none;
        if (!is_printable(c))
            break; // ESC then a control character: drop the ESC, keep the character
        return Event::none; // ESC x (e.g. Alt-x): ignored
    case Escape::csi:
        if (c >= 0x30 && c <= 0x3F) { // parameter bytes: digits, ';' ...
            if (m_csi_param_length + 1 < sizeof(m_csi_param))
                m_csi_param[m_csi_param_length++] = c;
            return Event::none;
        }
        if (c >= 0x20 && c <= 0x2F) // intermediate bytes
            return Event::none;
        m_escape = Escape::none;
        if (c >= 0x40 && c <= 0x7E) {
            m_csi_param[m_csi_param_length] = '\0';
            handle_csi(c);
            return Event::none;
        }
        break;
    case Escape::ss3:
        m_escape = Escape::none;
        if (is_printable(c)) {
            m_csi_param[0] = '\0';
            handle_csi(c); // ESC O A ... : the same keys in "application" mode
            return Event::none;
        }
        break;
    }

    switch (c) {
    case '\r': m_after_cr = true; return enter();
    case '\n': return after_cr ? Event::none : enter();
    case del:
    case ctrl_h: erase_before_cursor(); return Event::none;
    case ctrl_u: replace_line("", 0); return Event::none;
    case ctrl_c:
        write("^C\n");
        m_length = m_cursor = 0;
        m_text[0] = '\0';
        m_browse = 0;
        return Event::cancelled;
    case escape: m_escape = Escape::escape; return Event::none;
    default:
        if (is_printable(c))
            insert(c);
        return Event::none; // other control characters and bytes >= 0x80
    }
}

LineEditor::Event LineEditor::enter()
{
    write("\n");
    for (size_t i = 0; i < m_length; ++i)
        m_done[i] = m_text[i];
    m_done[m_length] = '\0';
    history_add();
    m_length = m_cursor = 0;
    m_text[0] = '\0';
    m_browse = 0;
    return Event::line;
}

void LineEditor::handle_csi(char final)
{
    const char* p = m_csi_param;
    switch (final) {
    case 'A': history_up(); break;
    case 'B': history_down(); break;
    case 'C': move_right(1); break;
    case 'D': move_left(1); break;
    case 'H': move_left(m_cursor); break;
    case 'F': move_right(m_length - m_cursor); break;
    case '~':
        // VT220 keys: 1/7 Home, 4/8 End, 3 Delete; modifiers after ';' do not matter.
        if ((p[0] == '1' || p[0] == '7') && (p[1] == '\0' || p[1] == ';'))
            move_left(m_cursor);
        else if ((p[0] == '4' || p[0] == '8') && (p[1] == '\0' || p[1] == ';'))
            move_right(m_length - m_cursor);
        else if (p[0] == '3' && (p[1] == '\0' || p[1] == ';'))
            erase_at_cursor();
        break;
    default: break; // anything else: ignored
    }
}

void LineEditor::insert(char c)
{
    if (m_length == max_line)
        return; // full: the key is dropped
    for (size_t i = m_length; i > m_cursor; --i)
        m_text[i] = m_text[i - 1];
    m_text[m_cursor] = c;
    ++m_length;
    m_text[m_length] = '\0';
    // Echo the character and whatever it pushed right, then step back.
    write(m_text + m_cursor, m_length - m_cursor);
    ++m_cursor;
    if (m_length > m_cursor) {
        char seq[24];
        const size_t n = tern::format_to(seq, sizeof(seq), "\x1b[%zuD", m_length - m_cursor);
        write(seq, n);
    }
}

// Rewrites the line from the cursor to its end, clears what is left of the
// old (longer) text and puts the terminal's cursor back.
void LineEditor::redraw_from_cursor(size_t erased)
{
    write(m_text + m_cursor, m_length - m_cursor);
    if (erased > 0)
        write("\x1b[K");
    if (m_length > m_cursor) {
        char seq[24];
        const size_t n = tern::format_to(seq, sizeof(seq), "\x1b[%zuD", m_length - m_cursor);
        write(seq, n);
    }
}

void LineEditor::erase_before_cursor()
{
    if (m_cursor == 0)
        return;
    for (size_t i = m_cursor; i < m_length; ++i)
        m_text[i - 1] = m_text[i];
    --m_cursor;
    --m_length;
    m_text[m_length] = '\0';
    write("\b");
    redraw_from_cursor(1);
}

void LineEditor::erase_at_cursor()
{
    if (m_cursor == m_length)
        return;
    for (size_t i = m_cursor + 1; i < m_length; ++i)
        m_text[i - 1] = m_text[i];
    --m_length;
    m_text[m_length] = '\0';
    redraw_from_cursor(1);
}

void LineEditor::move_left(size_t n)
{
    if (n > m_cursor)
        n = m_cursor;
    if (n == 0)
        return;
    m_cursor -= n;
    char seq[24];
    write(seq, tern::format_to(seq, sizeof(seq), "\x1b[%zuD", n));
}

void LineEditor::move_right(size_t n)
{
    if (n > m_length - m_cursor)
        n = m_length - m_cursor;
    if (n == 0)
        return;
    m_cursor += n;
    char seq[24];
    write(seq, tern::format_to(seq, sizeof(seq), "\x1b[%zuC", n));
}

// Shows `text` instead of the current line, with the cursor at its end.
void LineEditor::replace_line(const char* text, size_t length)
{
    if (length > max_line)
        length = max_line;
    const bool had_text = m_length > 0;
    move_left(m_cursor);
    for (size_t i = 0; i < length; ++i)
        m_text[i] = text[i];
    m_length = m_cursor = length;
    m_text[m_length] = '\0';
    write(m_text, m_length);
    if (had_text)
        write("\x1b[K");
}

void LineEditor::history_add()
{
    bool blank = true;
    for (size_t i = 0; i < m_length; ++i)
        blank = blank && m_text[i] == ' ';
    if (blank)
        return;
    if (m_history_count > 0) {
        const char* newest = history_entry(0);
        size_t i = 0;
        while (i < m_length && newest[i] == m_text[i])
            ++i;
        if (i == m_length && newest[i] == '\0')
            return; // the same as the last line: kept once
    }
    char* entry = m_history[m_history_next];
    for (size_t i = 0; i < m_length; ++i)
        entry[i] = m_text[i];
    entry[m_length] = '\0';
    m_history_next = (m_history_next + 1) % history_size;
    if (m_history_count < history_size)
        ++m_history_count;
}

const char* LineEditor::history_entry(size_t age) const
{
    return m_history[(m_history_next + history_size - 1 - age) % history_size];
}

void LineEditor::history_up()
{
    if (m_browse == m_history_count)
        return; // at the oldest line already
    if (m_browse == 0) {
        for (size_t i = 0; i <= m_length; ++i)
            m_draft[i] = m_text[i];
        m_draft_length = m_length;
    }
    ++m_browse;
    const char* entry = history_entry(m_browse - 1);
    size_t n = 0;
    while (entry[n] != '\0')
        ++n;
    replace_line(entry, n);
}

void LineEditor::history_down()
{
    if (m_browse == 0)
        return;
    --m_browse;
    if (m_browse == 0) {
        replace_line(m_draft, m_draft_length);
        return;
    }
    const char* entry = history_entry(m_browse - 1);
    size_t n = 0;
    while (entry[n] != '\0')
        ++n;
    replace_line(entry, n);
}

} // namespace sh
