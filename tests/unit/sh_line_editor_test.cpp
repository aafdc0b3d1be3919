// The shell's line editor (apps/sh/line_editor.cpp), fed byte by byte as the
// serial console would.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "line_editor.hpp"

namespace {

using sh::LineEditor;
using Event = LineEditor::Event;

class StringSink final : public tern::FormatSink {
public:
    void write(const char* text, size_t length) override { data.append(text, length); }
    std::string data;
};

struct Editor {
    StringSink echo;
    LineEditor editor{echo};
    std::vector<std::string> lines;
    int cancels = 0;

    // Feeds `input`; collects the finished lines.
    void type(const std::string& input)
    {
        for (char c : input) {
            switch (editor.feed(c)) {
            case Event::none: break;
            case Event::line: lines.emplace_back(editor.line()); break;
            case Event::cancelled: ++cancels; break;
            }
        }
    }
};

const std::string up = "\x1b[A", down = "\x1b[B", right = "\x1b[C", left = "\x1b[D";

TEST(ShLineEditor, EchoesAndEndsLinesOnCarriageReturn)
{
    Editor e;
    e.type("ps\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"ps"});
    EXPECT_EQ(e.echo.data, "ps\n");
    EXPECT_EQ(e.editor.length(), 0u);
}

TEST(ShLineEditor, CrLfIsOneEnterButCrCrIsTwo)
{
    Editor e;
    e.type("a\r\nb\nc\r\r\n");
    EXPECT_EQ(e.lines, (std::vector<std::string>{"a", "b", "c", ""}));
}

TEST(ShLineEditor, CrLfSplitAcrossReadsIsStillOneEnter)
{
    Editor e;
    e.type("a\r");
    e.type("\nb\r");
    EXPECT_EQ(e.lines, (std::vector<std::string>{"a", "b"}));
}

TEST(ShLineEditor, BurstOfLinesComesOutInOrder)
{
    Editor e;
    e.type("ps\rcores\r\nuptime\r");
    EXPECT_EQ(e.lines, (std::vector<std::string>{"ps", "cores", "uptime"}));
}

TEST(ShLineEditor, BackspaceBothCodesEraseOnScreen)
{
    Editor e;
    e.type("pz\x7f");
    EXPECT_EQ(std::string(e.editor.text()), "p");
    EXPECT_EQ(e.echo.data, "pz\b\x1b[K");
    e.type("x\x08s\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"ps"});
}

TEST(ShLineEditor, BackspaceOnEmptyLineDoesNothing)
{
    Editor e;
    e.type("\x7f\x08");
    EXPECT_EQ(e.echo.data, "");
    e.type("a\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"a"});
}

TEST(ShLineEditor, CtrlUKillsTheLine)
{
    Editor e;
    e.type("abc\x15");
    EXPECT_EQ(e.editor.length(), 0u);
    EXPECT_EQ(e.echo.data, "abc\x1b[3D\x1b[K");
    e.type("ps\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"ps"});
}

TEST(ShLineEditor, CtrlCCancelsTheLine)
{
    Editor e;
    e.type("abc\x03");
    EXPECT_EQ(e.cancels, 1);
    EXPECT_TRUE(e.lines.empty());
    EXPECT_EQ(e.echo.data, "abc^C\n");
    e.type("ps\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"ps"});
    EXPECT_EQ(e.editor.history_count(), 1u) << "a cancelled line is not history";
}

TEST(ShLineEditor, LeftArrowInsertsInTheMiddle)
{
    Editor e;
    e.type("ac" + left);
    EXPECT_EQ(e.editor.cursor(), 1u);
    e.echo.data.clear();
    e.type("b");
    EXPECT_EQ(e.echo.data, "bc\x1b[1D"); // the rest is redrawn, the cursor goes back
    e.type("\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"abc"});
}

TEST(ShLineEditor, ArrowsStopAtTheEnds)
{
    Editor e;
    e.type("ab" + right + right + left + left + left + left);
    EXPECT_EQ(e.editor.cursor(), 0u);
    e.type("x" + right + right + right + "y\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"xaby"});
}

TEST(ShLineEditor, BackspaceInTheMiddle)
{
    Editor e;
    e.type("abxc" + left + "\x7f\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"abc"});
}

TEST(ShLineEditor, HomeEndAndDelete)
{
    Editor e;
    e.type("bc\x1b[Ha\x1b[Fd\r");
    e.type("bc\x1b[1~a\x1b[4~d\r");
    e.type("bc\x1bOHa\x1bOFd\r");
    e.type("abxc" + left + left + "\x1b[3~\r");
    e.type("abc\x1b[3~\r"); // delete at the end: nothing
    EXPECT_EQ(e.lines, (std::vector<std::string>{"abcd", "abcd", "abcd", "abc", "abc"}));
}

TEST(ShLineEditor, HistoryWalksBackAndForth)
{
    Editor e;
    e.type("one\rtwo\r");
    e.type(up + "\r");
    e.type(up + up + "\r");
    e.type(up + up + up + up + up + "\r"); // stops at the oldest
    EXPECT_EQ(e.lines, (std::vector<std::string>{"one", "two", "two", "one", "one"}));
}

TEST(ShLineEditor, HistoryKeepsTheDraft)
{
    Editor e;
    e.type("one\r");
    e.type("dr" + up);
    EXPECT_EQ(std::string(e.editor.text()), "one");
    e.type(down);
    EXPECT_EQ(std::string(e.editor.text()), "dr");
    e.type(down + "aft\r"); // down at the draft: nothing
    EXPECT_EQ(e.lines.back(), "draft");
}

TEST(ShLineEditor, HistoryEntryCanBeEditedBeforeEnter)
{
    Editor e;
    e.type("stat rs\r");
    e.type(up + "\x7f\x7fsh\r");
    EXPECT_EQ(e.lines.back(), "stat sh");
    e.type(up + up + "\r");
    EXPECT_EQ(e.lines.back(), "stat rs") << "the entry itself is unchanged";
}

TEST(ShLineEditor, HistoryHoldsSixteenDistinctLines)
{
    Editor e;
    for (int i = 0; i < 20; ++i)
        e.type("cmd" + std::to_string(i) + "\r");
    e.type("cmd19\r"); // a repeat of the newest is not stored again
    e.type("  \r");    // nor is a blank line
    EXPECT_EQ(e.editor.history_count(), LineEditor::history_size);
    std::string keys;
    for (int i = 0; i < 30; ++i)
        keys += up;
    e.type(keys + "\r");
    EXPECT_EQ(e.lines.back(), "cmd4");
    e.type(up + down + down + "\r");
    EXPECT_EQ(e.lines.back(), "");
}

TEST(ShLineEditor, OtherEscapeSequencesAndControlsAreIgnored)
{
    Editor e;
    e.type("a\x1b[5~b\x1b[1;5Pc\x1bxd\x01\x02\t\x80\xff" "e\x1b[?25hf\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"abcdef"});
    EXPECT_EQ(e.echo.data, "abcdef\n");
}

TEST(ShLineEditor, ModifiedArrowsStillMove)
{
    Editor e;
    e.type("ac\x1b[1;5Db\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"abc"});
}

TEST(ShLineEditor, EnterCutsAnUnfinishedEscapeShort)
{
    Editor e;
    e.type("ab\x1b[\r");
    e.type("cd\x1b\r");
    e.type("ef\x1bO\r");
    EXPECT_EQ(e.lines, (std::vector<std::string>{"ab", "cd", "ef"}));
}

TEST(ShLineEditor, EscapeEscapeStartsAFreshSequence)
{
    Editor e;
    e.type("ac\x1b\x1b[Db\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"abc"});
}

TEST(ShLineEditor, LongLinesAreCut)
{
    Editor e;
    e.type(std::string(200, 'x') + "\r");
    ASSERT_EQ(e.lines.size(), 1u);
    EXPECT_EQ(e.lines[0], std::string(LineEditor::max_line, 'x'));
    Editor f;
    f.type(std::string(LineEditor::max_line, 'x') + left + "y\r"); // full: no insertion either
    EXPECT_EQ(f.lines[0], std::string(LineEditor::max_line, 'x'));
}

TEST(ShLineEditor, LongParameterListsDoNotOverflow)
{
    Editor e;
    e.type("a\x1b[99;2;3;4;5;6;7;8;9;10;11;12~b\r");
    EXPECT_EQ(e.lines, std::vector<std::string>{"ab"});
}

} // namespace
