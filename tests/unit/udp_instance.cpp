// One isolated udp engine with its own lwIP (transport_instance.hpp).
#include "engine.hpp"
#include "transport_instance_impl.hpp"

TERN_TRANSPORT_INSTANCE(udp::Engine)
