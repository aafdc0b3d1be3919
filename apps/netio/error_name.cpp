// netio::error_name, shared by both bindings: Linux's errno numbers by name.
#include "netio.hpp"

namespace netio {

const char* error_name(int64_t error)
{
    struct Name {
        int number;
        const char* text;
    };
    static constexpr Name names[] = {
        {1, "EPERM"},         {2, "ENOENT"},         {4, "EINTR"},          {5, "EIO"},
        {9, "EBADF"},         {11, "EAGAIN"},        {12, "ENOMEM"},        {13, "EACCES"},
        {14, "EFAULT"},       {16, "EBUSY"},         {22, "EINVAL"},        {23, "ENFILE"},
        {24, "EMFILE"},       {32, "EPIPE"},         {38, "ENOSYS"},        {88, "ENOTSOCK"},
        {89, "EDESTADDRREQ"}, {90, "EMSGSIZE"},      {91, "EPROTOTYPE"},    {92, "ENOPROTOOPT"},
        {93, "EPROTONOSUPPORT"}, {95, "EOPNOTSUPP"}, {97, "EAFNOSUPPORT"},  {98, "EADDRINUSE"},
        {99, "EADDRNOTAVAIL"}, {100, "ENETDOWN"},    {101, "ENETUNREACH"},  {103, "ECONNABORTED"},
        {104, "ECONNRESET"},  {105, "ENOBUFS"},      {106, "EISCONN"},      {107, "ENOTCONN"},
        {110, "ETIMEDOUT"},   {111, "ECONNREFUSED"}, {112, "EHOSTDOWN"},    {113, "EHOSTUNREACH"},
        {114, "EALREADY"},    {115, "EINPROGRESS"},
    };
    const int64_t number = error < 0 ? -error : error;
    for (const Name& name : names)
        if (name.number == number)
            return name.text;
    // Unknown numbers: one static buffer is enough for the apps' single thread.
    static char text[24];
    int64_t n = number;
    char digits[20];
    int count = 0;
    do {
        digits[count++] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0 && count < 20);
    text[0] = 'E';
    for (int i = 0; i < count; ++i)
        text[1 + i] = digits[count - 1 - i];
    text[1 + count] = '\0';
    return text;
}

} // namespace netio
