// ipcecho's one request: any message type; the reply carries the same type
// and every payload word plus one. Shared by ipcecho and ipctest.
#pragma once

#include "proto/syscall.hpp"

namespace ipcecho {

inline tern::sys::Message answer(const tern::sys::Message& request)
{
    tern::sys::Message reply{};
    reply.type = request.type;
    for (int i = 0; i < 6; ++i)
        reply.words[i] = request.words[i] + 1;
    return reply;
}

} // namespace ipcecho
