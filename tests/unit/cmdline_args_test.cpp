#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/cmdline_args.hpp"

namespace {

std::vector<std::string> split(const char* line, size_t storage_size = 256, size_t argv_capacity = 33)
{
    std::vector<char> storage(storage_size);
    std::vector<char*> argv(argv_capacity, reinterpret_cast<char*>(1));
    const size_t argc = tern::split_args(line, storage.data(), storage.size(), argv.data(), argv.size());
    EXPECT_LT(argc, argv_capacity);
    EXPECT_EQ(argv[argc], nullptr);
    std::vector<std::string> words;
    for (size_t i = 0; i < argc; ++i) {
        EXPECT_GE(argv[i], storage.data());
        EXPECT_LT(argv[i], storage.data() + storage.size());
        words.emplace_back(argv[i]);
    }
    return words;
}

using Words = std::vector<std::string>;

TEST(CmdlineArgs, SplitsOnSpaces)
{
    EXPECT_EQ(split("hello core=1 foo"), (Words{"hello", "core=1", "foo"}));
    EXPECT_EQ(split("  ip   core=2  "), (Words{"ip", "core=2"}));
    EXPECT_EQ(split("single"), (Words{"single"}));
}

TEST(CmdlineArgs, EmptyLinesGiveNoArguments)
{
    EXPECT_EQ(split(""), Words{});
    EXPECT_EQ(split("    "), Words{});
    EXPECT_EQ(split(nullptr), Words{});
}

TEST(CmdlineArgs, KeepsAtMostCapacityMinusOneWords)
{
    EXPECT_EQ(split("a b c d e", 256, 4), (Words{"a", "b", "c"}));
    std::string many;
    for (int i = 0; i < 40; ++i)
        many += "w" + std::to_string(i) + " ";
    const Words words = split(many.c_str());
    ASSERT_EQ(words.size(), 32u);
    EXPECT_EQ(words[31], "w31");
    char* argv[1];
    char storage[8];
    EXPECT_EQ(tern::split_args("a", storage, sizeof(storage), argv, 1), 0u);
    EXPECT_EQ(argv[0], nullptr);
    EXPECT_EQ(tern::split_args("a", storage, sizeof(storage), argv, 0), 0u);
}

TEST(CmdlineArgs, StopsAtTheFirstWordThatDoesNotFit)
{
    // "ab\0cd\0" needs 6 bytes; "efg\0" would need 4 more.
    EXPECT_EQ(split("ab cd efg h", 6), (Words{"ab", "cd"}));
    EXPECT_EQ(split("ab cd efg h", 9), (Words{"ab", "cd"}));
    EXPECT_EQ(split("ab cd efg h", 10), (Words{"ab", "cd", "efg"}));
    EXPECT_EQ(split("toolong", 7), Words{});
    EXPECT_EQ(split("ab", 0), Words{});
}

} // namespace

TEST(FindOption, FirstKeyEqualsValueWordAfterTheProgramName)
{
    char program[] = "e1000", mode[] = "mode=arptest", bare[] = "mode", longer[] = "modes=x", empty[] = "target=";
    char* argv[] = {program, longer, bare, mode, empty, nullptr};
    EXPECT_STREQ(tern::find_option(5, argv, "mode"), "arptest");
    EXPECT_STREQ(tern::find_option(5, argv, "target"), "");
    EXPECT_EQ(tern::find_option(5, argv, "source"), nullptr);
    char named[] = "mode=program-name-is-not-an-option";
    char* only_name[] = {named, nullptr};
    EXPECT_EQ(tern::find_option(1, only_name, "mode"), nullptr);
}
