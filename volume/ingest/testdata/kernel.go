package kernel

import "fmt"

// Scheduler places tasks on devices.
type Scheduler struct {
	queue []int
}

// Place puts one task on the least loaded device.
func (s *Scheduler) Place(task int) error {
	if task < 0 {
		return fmt.Errorf("task %d: negative", task)
	}
	s.queue = append(s.queue, task)
	return nil
}

// Drain empties the queue.
func Drain(s *Scheduler) int {
	n := len(s.queue)
	s.queue = nil
	return n
}
