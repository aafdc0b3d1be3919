#include "runtime/allocator.hpp"

namespace tern {
namespace {

constexpr size_t class_sizes[Allocator::class_count] = {16, 32, 48, 64, 96, 144, 192, 288, 448, 672, 1008, 2016};
constexpr size_t page_header_size = 64;
constexpr size_t page_payload = Allocator::page_size - page_header_size;
constexpr uint32_t small_page_magic = 0x5A11B10C;
constexpr size_t max_chunk_pages = 64;

// Every class is a multiple of the alignment, fills a page exactly and has at
// most 256 blocks (the bitmap's size).
constexpr bool classes_fit()
{
    for (size_t i = 0; i < Allocator::class_count; ++i) {
        const size_t size = class_sizes[i];
        if (size % Allocator::alignment != 0 || page_payload % size != 0 || page_payload / size > 256)
            return false;
        if (i > 0 && class_sizes[i - 1] >= size)
            return false;
    }
    return class_sizes[Allocator::class_count - 1] == Allocator::max_small;
}
static_assert(classes_fit());

int class_for(size_t size)
{
    int size_class = 0;
    while (class_sizes[size_class] < size)
        ++size_class;
    return size_class;
}

size_t pages_for(size_t size) { return (size + Allocator::page_size - 1) / Allocator::page_size; }

} // namespace

// The first 64 bytes of every page of small blocks.
struct Allocator::SmallPage {
    uint32_t magic;
    uint16_t size_class;
    uint16_t used;        // blocks in use
    SmallPage* prev;      // in m_partial[size_class]
    SmallPage* next;      // in m_partial[size_class], or in m_empty
    uint64_t in_use[4];   // bit i: block i is allocated

    size_t block_size() const { return class_sizes[size_class]; }
    size_t block_count() const { return page_payload / block_size(); }
    uint8_t* block(size_t index) { return reinterpret_cast<uint8_t*>(this) + page_header_size + index * block_size(); }
    bool is_used(size_t index) const { return (in_use[index / 64] >> (index % 64) & 1) != 0; }
};

void* Allocator::allocate(size_t size)
{
    if (size > max_size)
        return nullptr;
    if (size <= max_small)
        return allocate_small(class_for(size == 0 ? 1 : size));
    return allocate_large(size);
}

void* Allocator::allocate_aligned(size_t size, size_t align)
{
    if (align == 0 || (align & (align - 1)) != 0 || align > page_size || size > max_size)
        return nullptr;
    // Small blocks are 16-byte aligned; large blocks start on a page.
    return align <= alignment ? allocate(size) : allocate_large(size);
}

Allocator::Status Allocator::free(void* pointer)
{
    if (pointer == nullptr)
        return Status::ok;
    const Block block = find(pointer);
    if (block.status != Status::ok)
        return block.status;
    if (block.page != nullptr)
        free_small(block.page, block.index);
    else
        free_large(block.mapping);
    return Status::ok;
}

void* Allocator::reallocate(void* pointer, size_t size, Status& status)
{
    status = Status::ok;
    if (pointer == nullptr)
        return allocate(size);
    const Block block = find(pointer);
    status = block.status;
    if (status != Status::ok || size > max_size)
        return nullptr;
    // Stay in place when the block would land in the same size class or the
    // same number of pages anyway.
    if (block.page != nullptr) {
        if (size <= max_small && class_for(size == 0 ? 1 : size) == block.page->size_class)
            return pointer;
    } else if (size > max_small && pages_for(size) == m_mappings[block.mapping].pages) {
        return pointer;
    }
    void* moved = allocate(size);
    if (moved == nullptr)
        return nullptr;
    const size_t old_size = block_size(block);
    __builtin_memcpy(moved, pointer, size < old_size ? size : old_size);
    free(pointer);
    return moved;
}

size_t Allocator::usable_size(const void* pointer, Status& status) const
{
    const Block block = find(pointer);
    status = block.status;
    return status == Status::ok ? block_size(block) : 0;
}

size_t Allocator::block_size(const Block& block) const
{
    return block.page != nullptr ? block.page->block_size() : m_mappings[block.mapping].pages * page_size;
}

Allocator::Block Allocator::find(const void* pointer) const
{
    Block block{Status::not_allocated, nullptr, 0, 0};
    const auto address = reinterpret_cast<uintptr_t>(pointer);
    const size_t index = find_mapping(address);
    if (index == m_mapping_count)
        return block;
    const Mapping& mapping = m_mappings[index];
    if (mapping.large) {
        if (address == mapping.base) {
            block.status = Status::ok;
            block.mapping = index;
        }
        return block;
    }
    const uintptr_t page_address = address & ~(page_size - 1);
    if (page_address >= m_fresh && page_address < m_fresh_end)
        return block; // a page of the current chunk that was never handed out
    auto* page = reinterpret_cast<SmallPage*>(page_address);
    if (page->magic != small_page_magic || page->size_class >= class_count) {
        block.status = Status::corrupted;
        return block;
    }
    const size_t offset = address - page_address;
    if (offset < page_header_size || (offset - page_header_size) % page->block_size() != 0)
        return block;
    block.index = (offset - page_header_size) / page->block_size();
    block.status = page->is_used(block.index) ? Status::ok : Status::double_free;
    block.page = page;
    return block;
}

void* Allocator::allocate_small(int size_class)
{
    static_assert(sizeof(SmallPage) <= page_header_size);
    SmallPage* page = m_partial[size_class];
    if (page == nullptr) {
        page = take_page();
        if (page == nullptr)
            return nullptr;
        *page = SmallPage{small_page_magic, static_cast<uint16_t>(size_class), 0, nullptr, nullptr, {}};
        link(page);
    }
    // A page in m_partial has a free block, and free bits past the last block
    // come after it, so the lowest clear bit is a real block.
    size_t index = 0;
    for (size_t word = 0; word < 4; ++word) {
        const uint64_t free_bits = ~page->in_use[word];
        if (free_bits != 0) {
            index = word * 64 + static_cast<size_t>(__builtin_ctzll(free_bits));
            break;
        }
    }
    page->in_use[index / 64] |= uint64_t{1} << (index % 64);
    if (++page->used == page->block_count())
        unlink(page);
    m_bytes_in_use += page->block_size();
    return page->block(index);
}

Allocator::SmallPage* Allocator::take_page()
{
    if (m_empty != nullptr) {
        SmallPage* page = m_empty;
        m_empty = page->next;
        return page;
    }
    if (m_fresh == m_fresh_end) {
        void* chunk = map_recorded(m_next_chunk_pages, false);
        if (chunk == nullptr)
            return nullptr;
        m_fresh = reinterpret_cast<uintptr_t>(chunk);
        m_fresh_end = m_fresh + m_next_chunk_pages * page_size;
        if (m_next_chunk_pages < max_chunk_pages)
            m_next_chunk_pages *= 2;
    }
    auto* page = reinterpret_cast<SmallPage*>(m_fresh);
    m_fresh += page_size;
    return page;
}

void Allocator::free_small(SmallPage* page, size_t index)
{
    page->in_use[index / 64] &= ~(uint64_t{1} << (index % 64));
    m_bytes_in_use -= page->block_size();
    if (page->used == page->block_count())
        link(page); // it was full: it has a free block again
    if (--page->used == 0) {
        // Empty: any class may take it. It keeps its class and clear bitmap
        // until then, so freeing one of its blocks again is still caught.
        unlink(page);
        page->next = m_empty;
        m_empty = page;
    }
}

void Allocator::link(SmallPage* page)
{
    SmallPage*& head = m_partial[page->size_class];
    page->prev = nullptr;
    page->next = head;
    if (head != nullptr)
        head->prev = page;
    head = page;
}

void Allocator::unlink(SmallPage* page)
{
    if (page->prev != nullptr)
        page->prev->next = page->next;
    else
        m_partial[page->size_class] = page->next;
    if (page->next != nullptr)
        page->next->prev = page->prev;
    page->prev = page->next = nullptr;
}

void* Allocator::allocate_large(size_t size)
{
    const size_t pages = pages_for(size == 0 ? 1 : size);
    void* base = map_recorded(pages, true);
    if (base == nullptr)
        return nullptr;
    m_bytes_in_use += pages * page_size;
    return base;
}

void Allocator::free_large(size_t index)
{
    const Mapping mapping = m_mappings[index];
    remove_mapping(index);
    m_bytes_in_use -= mapping.pages * page_size;
    unmap(reinterpret_cast<void*>(mapping.base), mapping.pages);
}

size_t Allocator::find_mapping(uintptr_t address) const
{
    // The last mapping that starts at or below `address`.
    size_t low = 0;
    size_t high = m_mapping_count;
    while (low < high) {
        const size_t middle = low + (high - low) / 2;
        if (m_mappings[middle].base <= address)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return m_mapping_count;
    const Mapping& mapping = m_mappings[low - 1];
    return address - mapping.base < mapping.pages * page_size ? low - 1 : m_mapping_count;
}

bool Allocator::add_mapping(const Mapping& mapping)
{
    if (m_mapping_count == m_mapping_capacity) {
        const size_t pages = m_table_pages == 0 ? 1 : m_table_pages * 2;
        auto* table = static_cast<Mapping*>(map(pages));
        if (table == nullptr)
            return false;
        for (size_t i = 0; i < m_mapping_count; ++i)
            table[i] = m_mappings[i];
        if (m_mappings != nullptr)
            unmap(m_mappings, m_table_pages);
        m_mappings = table;
        m_table_pages = pages;
        m_mapping_capacity = pages * page_size / sizeof(Mapping);
    }
    size_t position = m_mapping_count;
    while (position > 0 && m_mappings[position - 1].base > mapping.base) {
        m_mappings[position] = m_mappings[position - 1];
        --position;
    }
    m_mappings[position] = mapping;
    ++m_mapping_count;
    return true;
}

void Allocator::remove_mapping(size_t index)
{
    for (size_t i = index + 1; i < m_mapping_count; ++i)
        m_mappings[i - 1] = m_mappings[i];
    --m_mapping_count;
}

// Maps pages and records them in the table; nothing stays mapped on failure.
void* Allocator::map_recorded(size_t pages, bool large)
{
    void* base = map(pages);
    if (base != nullptr && !add_mapping({reinterpret_cast<uintptr_t>(base), pages, large})) {
        unmap(base, pages);
        return nullptr;
    }
    return base;
}

void* Allocator::map(size_t pages)
{
    void* base = m_pages->map_pages(pages);
    if (base != nullptr)
        m_pages_mapped += pages;
    return base;
}

void Allocator::unmap(void* base, size_t pages)
{
    m_pages->unmap_pages(base, pages);
    m_pages_mapped -= pages;
}

} // namespace tern
