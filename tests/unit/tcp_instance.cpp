// One isolated tcp engine with its own lwIP (transport_instance.hpp).
#include "engine.hpp"
#include "transport_instance_impl.hpp"

TERN_TRANSPORT_INSTANCE(tcp::Engine)
