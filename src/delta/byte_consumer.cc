#include "delta/byte_consumer.h"

#include <vector>

namespace sluice::delta {

Status Pump(io::SequentialReader& in, const ByteConsumer& consumer) {
  std::vector<uint8_t> buffer(1u << 20);
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, in.Read(buffer));
    if (n == 0) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(consumer(io::ByteView(buffer.data(), n)));
  }
}

}  // namespace sluice::delta
