// WorkerModel: what one worker of the pool runs — its device, the precision
// it computes at there, and the image and video predictors whose weights
// live on that device. The server keeps one per worker, indexed like the
// WorkerPool's workers; a session pinned to worker w is created and served
// with workers[w]'s predictors, so its tensors never change device.
//
// Ownership: the predictors are shared (immutable) objects; a WorkerModel is
// a cheap value. Thread-safety: the predictors are const and may be used
// from any thread.

#ifndef SAM2_SERVER_WORKER_MODEL_H_
#define SAM2_SERVER_WORKER_MODEL_H_

#include <c10/core/Device.h>

#include <memory>
#include <vector>

#include "model/precision.h"
#include "model/sam2_model.h"
#include "model/video_predictor.h"

namespace sam2 {

struct WorkerModel {
  c10::Device device = c10::Device(c10::kCPU);
  Precision precision = Precision::kFloat32;
  std::shared_ptr<const Sam2Model> image;
  std::shared_ptr<const VideoPredictor> video;
};

// By worker index.
using WorkerModels = std::vector<WorkerModel>;

}  // namespace sam2

#endif  // SAM2_SERVER_WORKER_MODEL_H_
