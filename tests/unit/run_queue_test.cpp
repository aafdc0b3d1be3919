#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "proc/run_queue.hpp"

namespace {

struct Item {
    int id = 0;
    Item* next_ready = nullptr;
};

TEST(RunQueue, FifoOrder)
{
    kernel::RunQueue<Item> queue;
    Item items[4] = {{1}, {2}, {3}, {4}};
    for (Item& i : items)
        queue.push(i);
    EXPECT_EQ(queue.size(), 4u);
    for (int expected = 1; expected <= 4; ++expected) {
        Item* i = queue.pop();
        ASSERT_NE(i, nullptr);
        EXPECT_EQ(i->id, expected);
        EXPECT_EQ(i->next_ready, nullptr);
    }
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(queue.pop(), nullptr);
}

TEST(RunQueue, RemoveFromAnywhere)
{
    kernel::RunQueue<Item> queue;
    Item items[3] = {{1}, {2}, {3}};
    for (Item& i : items)
        queue.push(i);
    EXPECT_TRUE(queue.remove(items[2])); // tail
    Item other{9};
    EXPECT_FALSE(queue.remove(other));
    queue.push(other); // the tail must have moved back correctly
    EXPECT_TRUE(queue.remove(items[0])); // head
    EXPECT_EQ(queue.pop()->id, 2);
    EXPECT_EQ(queue.pop()->id, 9);
    EXPECT_TRUE(queue.empty());
}

TEST(RunQueue, MatchesAModelUnderRandomOperations)
{
    std::mt19937 random(7);
    Item items[16];
    bool queued[16] = {};
    for (int i = 0; i < 16; ++i)
        items[i].id = i;
    kernel::RunQueue<Item> queue;
    std::deque<int> model;
    for (int step = 0; step < 20000; ++step) {
        const int i = static_cast<int>(random() % 16);
        switch (random() % 3) {
        case 0:
            if (!queued[i]) {
                queue.push(items[i]);
                model.push_back(i);
                queued[i] = true;
            }
            break;
        case 1: {
            Item* popped = queue.pop();
            if (model.empty()) {
                ASSERT_EQ(popped, nullptr);
            } else {
                ASSERT_NE(popped, nullptr);
                ASSERT_EQ(popped->id, model.front());
                queued[model.front()] = false;
                model.pop_front();
            }
            break;
        }
        case 2: {
            const bool removed = queue.remove(items[i]);
            ASSERT_EQ(removed, queued[i]);
            if (removed) {
                std::erase(model, i);
                queued[i] = false;
            }
            break;
        }
        }
        ASSERT_EQ(queue.size(), model.size());
    }
}

} // namespace
